import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  isGrpcServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';

// What a Temporal client call failed with, recognised by error class, failure type and gRPC status code — never by
// message text, which the server words differently from version to version. The one place that knows how the SDK
// reports each case (node_modules/@temporalio/client/lib/workflow-client.js):
//
// - An update, signal or query to a workflow with no open run (completed, failed, terminated, or never started):
//   the server answers gRPC NOT_FOUND ("workflow execution already completed", "workflow not found for ID …",
//   "workflow update was aborted by closing workflow"); the client turns it into WorkflowNotFoundError, or, on
//   paths that do not (some calls over a NativeConnection), leaves the NOT_FOUND gRPC error as is or as a cause.
// - An update the workflow accepted but did not answer before it completed: WorkflowUpdateFailedError whose cause is
//   the server's ApplicationFailure of type `AcceptedUpdateCompletedWorkflow`.
// - An update refused by its validator (or failed by its handler): WorkflowUpdateFailedError whose cause is the
//   ApplicationFailure the workflow threw, with the type the workflow gave it.
// - A start refused by the id reuse policy: WorkflowExecutionAlreadyStartedError.
// - The call itself timed out or Temporal was unreachable: WorkflowUpdateRPCTimeoutOrCancelledError, or a
//   ServiceError / gRPC error with code DEADLINE_EXCEEDED, CANCELLED or UNAVAILABLE.

/** The server's failure type for an accepted update whose workflow completed before the update did. */
export const ACCEPTED_UPDATE_COMPLETED_WORKFLOW = 'AcceptedUpdateCompletedWorkflow';

/** The gRPC status code of `err` or of the first error in its cause chain that has one. */
export function grpcStatusOf(err: unknown): GrpcStatus | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (isGrpcServiceError(e)) return e.code;
  }
  return undefined;
}

/**
 * True when no open run could take the message: the workflow has closed (or never existed). The caller tells the two
 * apart from its own records (the read model), not from the error.
 */
export function isWorkflowGone(err: unknown): boolean {
  if (err instanceof WorkflowNotFoundError) return true;
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === ACCEPTED_UPDATE_COMPLETED_WORKFLOW) return true;
  // Raw, wrapped in a ServiceError, or (over a NativeConnection) as the cause of another error.
  return grpcStatusOf(err) === GrpcStatus.NOT_FOUND;
}

/**
 * The workflow's own refusal of an update: the ApplicationFailure of type `type` its validator (or handler) threw,
 * or undefined for any other failure.
 */
export function updateRefusal(err: unknown, type: string): ApplicationFailure | undefined {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = err.cause;
  return cause instanceof ApplicationFailure && cause.type === type ? cause : undefined;
}

/** True when a start was refused because a workflow with that id exists (or existed, under REJECT_DUPLICATE). */
export function isAlreadyStarted(err: unknown): boolean {
  return err instanceof WorkflowExecutionAlreadyStartedError;
}

const TRANSIENT_CODES: ReadonlySet<GrpcStatus> = new Set([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.CANCELLED, GrpcStatus.RESOURCE_EXHAUSTED]);

/** True when Temporal did not answer (unreachable, overloaded, or the call timed out): the same call may succeed later. */
export function isTemporalUnavailable(err: unknown): boolean {
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
  const code = grpcStatusOf(err);
  return code !== undefined && TRANSIENT_CODES.has(code);
}

/** Everything a caller of the workflow client needs to decide on a failure, in one value. */
export type TemporalFailure =
  | { readonly kind: 'workflow-gone' }
  | { readonly kind: 'update-refused'; readonly failure: ApplicationFailure }
  | { readonly kind: 'already-started' }
  | { readonly kind: 'unavailable' }
  | { readonly kind: 'other' };

/** Classifies a workflow-client failure; `refusalType` is the ApplicationFailure type the workflow's validators throw. */
export function classifyTemporalFailure(err: unknown, refusalType: string): TemporalFailure {
  const refusal = updateRefusal(err, refusalType);
  if (refusal) return { kind: 'update-refused', failure: refusal };
  if (isWorkflowGone(err)) return { kind: 'workflow-gone' };
  if (isAlreadyStarted(err)) return { kind: 'already-started' };
  if (isTemporalUnavailable(err)) return { kind: 'unavailable' };
  return { kind: 'other' };
}
