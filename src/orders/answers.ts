import {
  ResultCode,
  defaultResultMessage,
  newInstanceResponse,
  queryInstanceResponse,
  simpleResponse,
  type ProductionCommand,
} from '../koogallery/index.js';
import { isTemporalUnavailable } from '../platform/temporal/failures.js';
import type { OrderIds, OrderOutcome } from './service.js';

// The production interface's one mapper: every outcome of a command, and every failure to reach one, becomes a
// marketplace result code and an answer body here (§6: result codes go back with HTTP 200 JSON). Nothing else in
// the order context picks a result code, apart from the ones the order workflow decides itself (OperationResult).

/** A command's answer, before it is serialised and signed. */
export interface ProductionAnswer {
  readonly code: ResultCode;
  readonly body: Record<string, unknown>;
  /** The ids it concerns, for logs. */
  readonly ids?: OrderIds;
}

function codeAndMessage(c: ProductionCommand, o: OrderOutcome): { code: ResultCode; message?: string } {
  switch (o.kind) {
    case 'answered':
      // V1 has no asynchronous answer: "still provisioning" is a retryable failure; the retry finds the instance.
      if (o.code === ResultCode.Processing && c.kind === 'purchase' && c.interfaceVersion === 'V1') return { code: ResultCode.InternalError, message: 'provisioning in progress; please retry.' };
      return { code: o.code, ...(o.message ? { message: o.message } : {}) };
    case 'refused':
      return { code: o.code, message: o.message };
    case 'instance-not-found':
      return { code: ResultCode.InstanceNotFound, message: o.message };
    case 'provisioning':
      if (c.kind === 'purchase' && c.interfaceVersion === 'V1') return { code: ResultCode.InternalError, message: 'provisioning in progress; please retry.' };
      return { code: ResultCode.Processing, message: 'provisioning' };
    case 'retry-later':
      return { code: ResultCode.InternalError, message: o.message };
    case 'instances':
      return { code: ResultCode.Success };
  }
}

/** The answer to a command's outcome, in the activity's response shape (§3.1, §4.1, §4.2; the rest are simple). */
export function answerFor(c: ProductionCommand, o: OrderOutcome): ProductionAnswer {
  const { code, message } = codeAndMessage(c, o);
  const msg = message ?? defaultResultMessage(code);
  const ids = o.ids;
  if (c.kind === 'purchase') {
    const instanceId = ids?.instanceId;
    const appInfo = o.kind === 'answered' && code === ResultCode.Success && c.interfaceVersion === 'V1' ? o.appInfo : undefined;
    return {
      code,
      ids,
      body: newInstanceResponse(code, msg, { ...(instanceId ? { instanceId } : {}), ...(appInfo ? { encryptType: '1' as const, appInfo } : {}) }),
    };
  }
  if (c.kind === 'query') return { code, ids, body: queryInstanceResponse(code, msg, o.kind === 'instances' ? o.info : [], '1') };
  return { code, ids, body: simpleResponse(code, msg) };
}

/** The answer when a command could not be run at all: Temporal or PostgreSQL unreachable, or a bug. Always retryable. */
export function answerForFailure(err: unknown): ProductionAnswer & { readonly temporalUnavailable: boolean } {
  return {
    code: ResultCode.InternalError,
    body: simpleResponse(ResultCode.InternalError, 'internal error; please retry.'),
    temporalUnavailable: isTemporalUnavailable(err),
  };
}
