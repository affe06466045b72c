/**
 * The versions of the cross-gateway resume messages (proto/sb/gateway/v1/resume.proto, on
 * subjects.resumeClaim). A build speaks `current` and understands every version from `oldest`
 * on, so an old and a new gateway resume each other during a rolling upgrade. The rule is in
 * the proto file: fields are only added; a change an older reader would misread bumps
 * `current`, and `oldest` moves up only once no deployed build speaks the versions below it.
 */
export const resumeProtocol = {
  current: 1,
  oldest: 1,
} as const;

/** The version a holder answers a claim of version `v` in; undefined when it cannot. */
export function answerVersion(v: number): number | undefined {
  if (v < resumeProtocol.oldest) return undefined;
  return Math.min(v, resumeProtocol.current);
}

/** Whether a reader understands a message of version `v`. */
export function understands(v: number): boolean {
  return v >= resumeProtocol.oldest && v <= resumeProtocol.current;
}
