// Every recorder catalogue, one line each: the driver (record-histories.ts) records and lists them in the order of
// their workflow type names, service recorders before time-skipping ones. A new workflow type adds its module
// (<type>-recorder.ts, exporting a RecorderCatalogue) and its line here.
export { meteringCatalogue, packageCatalogue } from './metering-recorder.js';
export { orderCatalogue } from './order-recorder.js';
export { reconciliationCatalogue } from './reconciliation-recorder.js';
export { supervisionCatalogue } from './supervision-recorder.js';
