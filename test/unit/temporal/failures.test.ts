import { Metadata, status } from '@grpc/grpc-js';
import {
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { ORDER_REJECTION_TYPE } from '../../../src/orders/contract.js';
import { SUPERVISION_REJECTION_TYPE } from '../../../src/supervision/contract.js';
import {
  ACCEPTED_UPDATE_COMPLETED_WORKFLOW,
  classifyTemporalFailure,
  grpcStatusOf,
  isAlreadyStarted,
  isTemporalUnavailable,
  isWorkflowGone,
  updateRefusal,
} from '../../../src/platform/temporal/failures.js';

// The recognisers read failures by class, failure type and gRPC code, built here as the SDK builds them
// (@temporalio/client lib/workflow-client.js, @grpc/grpc-js callErrorFromStatus). Each test also shows that the
// message text plays no part: the same error with another wording is recognised the same way.

/** A gRPC error exactly as @grpc/grpc-js reports a failed call (message "<code> <NAME>: <details>"). */
function grpcError(code: status, details: string): Error & { code: status; details: string; metadata: Metadata } {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata: new Metadata() });
}

/** What the client throws for an update on a workflow whose run has completed (rethrowGrpcError on NOT_FOUND). */
const closedWorkflow = (message = 'workflow execution already completed') => new WorkflowNotFoundError(message, 'order-CS1', undefined);

const validatorRefusal = (type: string, code = '000005') =>
  new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.create({ type, message: 'refresh without orderId or expireTime', details: [code], nonRetryable: true }));

describe('isWorkflowGone', () => {
  it('when an update reaches a completed workflow (WorkflowNotFoundError), then it is gone, whatever the wording', () => {
    expect(isWorkflowGone(closedWorkflow())).toBe(true);
    expect(isWorkflowGone(closedWorkflow('Ausführung bereits abgeschlossen'))).toBe(true);
    expect(isWorkflowGone(closedWorkflow('workflow not found for ID: order-CS1'))).toBe(true);
  });

  it('when the workflow completed after accepting the update, then it is gone (server failure type AcceptedUpdateCompletedWorkflow)', () => {
    const err = new WorkflowUpdateFailedError(
      'Workflow Update failed',
      ApplicationFailure.create({ type: ACCEPTED_UPDATE_COMPLETED_WORKFLOW, message: 'Workflow Update failed because the Workflow completed before the Update completed.', nonRetryable: true }),
    );
    expect(isWorkflowGone(err)).toBe(true);
  });

  it('when a NOT_FOUND gRPC error arrives raw or wrapped in a ServiceError, then it is gone', () => {
    const raw = grpcError(status.NOT_FOUND, 'workflow update was aborted by closing workflow');
    expect(isWorkflowGone(raw)).toBe(true);
    expect(isWorkflowGone(new ServiceError('Update failed', { cause: raw }))).toBe(true);
    expect(grpcStatusOf(new ServiceError('Update failed', { cause: raw }))).toBe(status.NOT_FOUND);
    // Over a NativeConnection a describe may surface it as the cause of a plain error.
    expect(isWorkflowGone(new Error('describe failed', { cause: raw }))).toBe(true);
  });

  it('when the message says "not found" or "already completed" but the error is something else, then it is NOT gone', () => {
    expect(isWorkflowGone(new Error('workflow execution already completed'))).toBe(false);
    expect(isWorkflowGone(new Error('5 NOT_FOUND: not found'))).toBe(false);
    expect(isWorkflowGone(grpcError(status.UNAVAILABLE, 'workflow execution already completed'))).toBe(false);
    expect(isWorkflowGone(validatorRefusal(ORDER_REJECTION_TYPE))).toBe(false);
    expect(isWorkflowGone(undefined)).toBe(false);
    expect(isWorkflowGone('not found')).toBe(false);
  });
});

describe('updateRefusal', () => {
  it('when the order workflow\'s validator refuses, then the refusal is recognised by its type and carries the code', () => {
    const refusal = updateRefusal(validatorRefusal(ORDER_REJECTION_TYPE, '000005'), ORDER_REJECTION_TYPE);
    expect(refusal).toBeInstanceOf(ApplicationFailure);
    expect(refusal?.details).toEqual(['000005']);
  });

  it('when the refusal has another type (another workflow\'s, or the server\'s), then it is not this workflow\'s refusal', () => {
    expect(updateRefusal(validatorRefusal(SUPERVISION_REJECTION_TYPE), ORDER_REJECTION_TYPE)).toBeUndefined();
    expect(updateRefusal(validatorRefusal(ACCEPTED_UPDATE_COMPLETED_WORKFLOW), ORDER_REJECTION_TYPE)).toBeUndefined();
    expect(updateRefusal(new WorkflowUpdateFailedError('Workflow Update failed', new Error('plain error')), ORDER_REJECTION_TYPE)).toBeUndefined();
    expect(updateRefusal(ApplicationFailure.create({ type: ORDER_REJECTION_TYPE, message: 'not wrapped in an update failure' }), ORDER_REJECTION_TYPE)).toBeUndefined();
  });
});

describe('isAlreadyStarted and isTemporalUnavailable', () => {
  it('when a start is refused by the reuse policy, then it is recognised by class', () => {
    expect(isAlreadyStarted(new WorkflowExecutionAlreadyStartedError('Workflow execution already started', 'order-CS1', 'orderWorkflow'))).toBe(true);
    expect(isAlreadyStarted(new Error('Workflow execution already started'))).toBe(false);
  });

  it('when Temporal is unreachable or the call timed out, then it is unavailable; NOT_FOUND and refusals are not', () => {
    expect(isTemporalUnavailable(new WorkflowUpdateRPCTimeoutOrCancelledError('Workflow update call timeout or cancelled'))).toBe(true);
    expect(isTemporalUnavailable(grpcError(status.UNAVAILABLE, 'connection refused'))).toBe(true);
    expect(isTemporalUnavailable(new ServiceError('Failed to query Workflow', { cause: grpcError(status.DEADLINE_EXCEEDED, 'deadline') }))).toBe(true);
    expect(isTemporalUnavailable(closedWorkflow())).toBe(false);
    expect(isTemporalUnavailable(grpcError(status.NOT_FOUND, 'gone'))).toBe(false);
    expect(isTemporalUnavailable(new Error('UNAVAILABLE'))).toBe(false);
  });
});

describe('classifyTemporalFailure', () => {
  it('when each kind of failure is classified, then each gets its one kind', () => {
    const refusal = validatorRefusal(ORDER_REJECTION_TYPE);
    expect(classifyTemporalFailure(refusal, ORDER_REJECTION_TYPE)).toEqual({ kind: 'update-refused', failure: refusal.cause });
    expect(classifyTemporalFailure(closedWorkflow(), ORDER_REJECTION_TYPE)).toEqual({ kind: 'workflow-gone' });
    expect(classifyTemporalFailure(new WorkflowExecutionAlreadyStartedError('x', 'order-CS1', 'orderWorkflow'), ORDER_REJECTION_TYPE)).toEqual({ kind: 'already-started' });
    expect(classifyTemporalFailure(grpcError(status.UNAVAILABLE, 'down'), ORDER_REJECTION_TYPE)).toEqual({ kind: 'unavailable' });
    expect(classifyTemporalFailure(new TypeError('a bug'), ORDER_REJECTION_TYPE)).toEqual({ kind: 'other' });
    // Another workflow's refusal is not ours: it stays "other" (and is answered as an internal error).
    expect(classifyTemporalFailure(validatorRefusal(SUPERVISION_REJECTION_TYPE), ORDER_REJECTION_TYPE)).toEqual({ kind: 'other' });
  });
});
