/** Progress lines for long steps, on stderr, only when it is a terminal (so pipes and CI stay clean). */
export function progressReporter(enabled = process.stderr.isTTY): (step: string, ms: number) => void {
  return (step, ms) => {
    if (enabled) process.stderr.write(`  \u2713 ${step} (${ms} ms)\n`);
  };
}
