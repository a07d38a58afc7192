/**
 * A point jobs wait at while a test holds it closed (hold/release of the fakes): closing stops the jobs that
 * reach it afterwards, opening lets every waiting job on. A job whose signal aborts stops waiting.
 */
export class Gate {
  private closed = false;
  private waiting: Array<() => void> = [];

  close(): void {
    this.closed = true;
  }

  open(): void {
    this.closed = false;
    const waiting = this.waiting;
    this.waiting = [];
    waiting.forEach((resolve) => resolve());
  }

  async pass(signal: AbortSignal): Promise<void> {
    if (!this.closed) return;
    await new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }
}
