-- The buyer's contacts (mobilePhone/email from the marketplace) that the built-in tenant registry created the
-- tenant's admin account with: personal data, so only sealed (AES-256-GCM with the data-encryption key, like the
-- credentials beside it). NULL when the marketplace sent none.
ALTER TABLE tenants ADD COLUMN admin_contacts_sealed text;
