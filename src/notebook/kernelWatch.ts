/**
 * Notices when a kernel stops being the one a driver started its session on, for both drivers' `lost` signal.
 */
import { Kernel, KernelAPI, KernelMessage } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';

import { untilIdle, withTimeout } from './kernelExecution';

/**
 * Watches one kernel connection for what ends a driver's session, and calls `onLost` with the reason:
 *
 * - a restart through this connection that the driver did not make (status `restarting`, not followed by the
 *   `autorestarting` of the server's restart of a kernel that died): "the kernel was restarted by the user";
 * - a restart made elsewhere (another tab, the REST API): a status from a new kernel process, told by the kernel
 *   session id in its header: "the kernel was restarted by someone else";
 * - a shutdown: the kernel answered a `shutdown_request` the driver did not send, or stopped (`dead`, the server's
 *   restart statuses), and the server no longer has it: "the kernel was shut down". (Jupyter Server keeps the
 *   kernel websocket open after a shutdown through its REST API, so nothing else would tell.)
 *
 * The driver's own restarts go through `restart()`. A kernel that died and that the server restarted is no loss:
 * the execution reports it as `kernel_died`.
 */
export class KernelWatch implements IDisposable {
  constructor(
    private readonly _kernel: Kernel.IKernelConnection,
    private readonly _onLost: (message: string) => void
  ) {
    _kernel.statusChanged.connect(this._onStatus, this);
    _kernel.iopubMessage.connect(this._onIOPub, this);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Restart the kernel as the driver: `restart` makes the request; resolves once the kernel is idle again. */
  async restart(restart: () => Promise<void>): Promise<void> {
    this._ownRestarts++;
    try {
      await restart();
      await untilIdle(this._kernel, 60000);
    } finally {
      this._ownRestarts--;
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    clearTimeout(this._restartCheck);
    this._kernel.statusChanged.disconnect(this._onStatus, this);
    this._kernel.iopubMessage.disconnect(this._onIOPub, this);
  }

  private _onStatus(_: Kernel.IKernelConnection, status: Kernel.Status): void {
    if (this._ownRestarts) {
      return;
    }
    if (status === 'restarting') {
      // The server's restart of a dead kernel shows `restarting`, then `autorestarting` a microtask later.
      this._userRestart = true;
      this._restartCheck = setTimeout(() => {
        if (this._userRestart) {
          this._onLost('the kernel was restarted by the user');
        }
      }, 0);
    } else if (status === 'autorestarting') {
      this._userRestart = false;
      this._newProcess = true;
    }
    if (status === 'dead' || status === 'autorestarting') {
      void this._lostIfShutDown(1);
    }
  }

  /**
   * A kernel status from a process other than the one seen last, outside a restart the driver knows of. Only the
   * statuses a kernel publishes count: the server writes some messages itself, under its own session id (the
   * `restarting` and `dead` statuses, the IOPub rate limit's notes on stderr).
   */
  private _onIOPub(_: Kernel.IKernelConnection, msg: KernelMessage.IIOPubMessage): void {
    if (!KernelMessage.isStatusMsg(msg) || !KERNEL_STATUSES.has(msg.content.execution_state)) {
      return;
    }
    const parent = msg.parent_header as Partial<KernelMessage.IHeader>;
    if (!this._ownRestarts && parent.msg_type === 'shutdown_request' && parent.msg_id !== this._shutdownRequest) {
      this._shutdownRequest = parent.msg_id; // its busy and its idle: one check
      void this._lostIfShutDown(SHUTDOWN_CHECKS); // a restart made elsewhere starts with one too
    }
    this._seen(msg.header.session);
  }

  /** A message from the kernel process with session id `session`. */
  private _seen(session: string): void {
    if (this._ownRestarts || this._newProcess || this._process === null) {
      this._process = session;
      this._newProcess = false;
    } else if (session !== this._process) {
      this._process = session;
      this._onLost('the kernel was restarted by someone else');
    }
  }

  /**
   * Ask the server whether the kernel still exists, `checks` times half a second apart (the server forgets a
   * kernel only once its process ended); report a shutdown when it does not. While it exists, ask the kernel
   * itself (kernel_info): a reply from another process is a restart made elsewhere, whose own statuses may have
   * been published before the server listened again.
   */
  private async _lostIfShutDown(checks: number): Promise<void> {
    for (let i = 0; i < checks && !this._isDisposed && !this._ownRestarts; i++) {
      if (i > 0) {
        await new Promise(resolve => setTimeout(resolve, 500));
      }
      const model = await KernelAPI.getKernelModel(this._kernel.id, this._kernel.serverSettings).catch(() => null);
      if (this._isDisposed || this._ownRestarts) {
        return;
      }
      if (model === undefined) {
        return this._onLost('the kernel was shut down');
      }
      if (checks > 1 && model && !this._kernel.isDisposed) {
        const reply = await withTimeout(this._kernel.requestKernelInfo(), 2000).catch(() => undefined);
        if (reply && !this._ownRestarts) {
          this._seen(reply.header.session);
        }
      }
    }
  }

  private _isDisposed = false;
  private _shutdownRequest: string | undefined;
  private _ownRestarts = 0;
  private _userRestart = false;
  private _restartCheck: ReturnType<typeof setTimeout> | undefined;
  /** The kernel session id of the process the driver runs on (null until its first message). */
  private _process: string | null = null;
  /** The next message comes from a new process the driver expects (after the server restarted a dead kernel). */
  private _newProcess = false;
}

/** How often to ask the server about the kernel after a `shutdown_request` (half a second apart). */
const SHUTDOWN_CHECKS = 10;

/** The statuses a kernel publishes itself (the server writes `restarting` and `dead`). */
const KERNEL_STATUSES: ReadonlySet<string> = new Set(['starting', 'busy', 'idle']);
