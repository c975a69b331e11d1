/** Resolves once `probe` holds, polling every `everyMs` (25); fails after `timeoutMs` (60 s) saying `what`. */
export async function until(probe: () => boolean, what: string, timeoutMs = 60000, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) {
      throw new Error(`not within ${timeoutMs / 1000} s: ${what}`);
    }
    await new Promise(resolve => setTimeout(resolve, everyMs));
  }
}
