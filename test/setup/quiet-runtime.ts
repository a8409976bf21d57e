// Test processes install the SDK runtime with a WARN logger: worker state changes at INFO drown test output.
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('WARN') });
