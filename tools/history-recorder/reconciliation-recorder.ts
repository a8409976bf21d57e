// The reconciliation workflow's recorders: it runs over order instances bought through the real service (ServiceKit).
import { randomUUID } from 'node:crypto';
import { RECONCILIATION_WORKFLOW_TYPE, type ReconciliationInput } from '../../src/reconciliation/contract.js';
import type { Recorder, RecorderCatalogue } from './catalogue.js';
import type { ServiceKit } from './service-kit.js';

/** The reconciliation workflow's paths. */
const service: Recorder<ServiceKit>[] = [
  {
    scenario: 'one-run-with-drift',
    description: 'a reconciliation run over two instances, one of them with an injected read-model phase drift',
    async record(k) {
      const healthy = await k.buyV2();
      const drifted = await k.buyV2();
      // Out-of-band write: the read model claims FROZEN while the workflow is ACTIVE.
      await k.h.pool.query(`UPDATE instances SET phase = 'FROZEN' WHERE instance_id = $1`, [drifted.instanceId]);
      const workflowId = `replay-reconciliation-${randomUUID()}`;
      const input: ReconciliationInput = { pageSize: 1, instanceIds: [healthy.instanceId, drifted.instanceId] };
      await k.client.workflow.execute(RECONCILIATION_WORKFLOW_TYPE, { workflowId, taskQueue: k.h.config.temporal.taskQueue, args: [input] });
      return [{ workflowId, status: 'COMPLETED' }];
    },
  },
];

export const reconciliationCatalogue: RecorderCatalogue = { workflowType: RECONCILIATION_WORKFLOW_TYPE, service };
