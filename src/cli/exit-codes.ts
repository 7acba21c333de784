import { InputError, LabStateError, OvnkTraceError } from "../errors.js";
import { ParseError } from "../errors.js";
import { ClusterUnreachableError, ForbiddenError, NotFoundError } from "../errors.js";

/** Exit statuses: each kind of failure has its own, so scripts can tell them apart. */
export const EXIT = {
  ok: 0,
  /** A trace ran and a step indicates failure (dropped, wrong destination). */
  traceFailure: 1,
  usage: 2,
  notFound: 3,
  forbidden: 4,
  unreachable: 5,
  commandFailed: 6,
  parse: 7,
  /** A verdict could not be established (an input missing, a step no trace can follow); why on stderr. */
  unknown: 8,
  internal: 70,
} as const;

export function exitCodeOf(e: OvnkTraceError): number {
  if (e instanceof NotFoundError) return EXIT.notFound;
  if (e instanceof ForbiddenError) return EXIT.forbidden;
  // a lab that is not running is a cluster that cannot be reached
  if (e instanceof ClusterUnreachableError || e instanceof LabStateError) return EXIT.unreachable;
  if (e instanceof ParseError) return EXIT.parse;
  if (e instanceof InputError) return EXIT.usage;
  return EXIT.commandFailed;
}
