-- Who entered a supervision action through the ops API: the name of the operator whose bearer token authenticated
-- the call (OPS_OPERATORS, or `ops` for OPS_API_TOKEN). NULL for the marketplace's events and the workflow's own
-- transitions (start, reminders, automatic acceptance, release), and for rows written before this column existed.
ALTER TABLE supervision_events ADD COLUMN actor text;
