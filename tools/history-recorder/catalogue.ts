// What a recorder catalogue is: the recorders of one workflow type, by the kit they need. Apart from recorder.ts
// (which the kits import) so that the kits and this shape do not import each other.
import type { RecordingKit, RunToExport } from './recorder.js';
import type { ServiceKit } from './service-kit.js';
import type { TimeSkippingKit } from './time-skipping-kit.js';

/** A named lifecycle path that produces the runs it wants exported, driven with kit K. */
export interface Recorder<K extends RecordingKit> {
  /** The fixture's file name (unique across all catalogues: `--only` selects by it). */
  readonly scenario: string;
  readonly description: string;
  record(kit: K): Promise<RunToExport[]>;
}

/**
 * The recorders of one workflow type, by the kind of server their paths need. A new workflow type is one module
 * exporting one of these, and one line in catalogues.ts.
 */
export interface RecorderCatalogue {
  /** The type the recorders' runs are (a run of another type says so in its RunToExport). */
  readonly workflowType: string;
  /** Paths that happen in seconds: the real service on the dev server, driven over HTTP (ServiceKit). */
  readonly service?: readonly Recorder<ServiceKit>[];
  /** Paths measured in days: the real workflow bundle on the time-skipping server (TimeSkippingKit). */
  readonly timeSkipping?: readonly Recorder<TimeSkippingKit>[];
}
