/**
 * Notices when a kernel stops being the one a driver started its session on, for both drivers' `lost` signal.
 */
import { Kernel, KernelAPI, KernelMessage } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';

import { untilIdle } from './kernelExecution';

/**
 * Watches one kernel connection for what ends a driver's session, and calls `onLost` with the reason:
 *
 * - a restart through this connection that the driver did not make (status `restarting`, not followed by the
 *   `autorestarting` of the server's restart of a kernel that died): "the kernel was restarted by the user";
 * - a restart made elsewhere (another tab, the REST API): IOPub from a new kernel process, told by the kernel
 *   session id in the message headers: "the kernel was restarted by someone else";
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

  /** A message from a kernel process other than the one seen last, outside a restart the driver knows of. */
  private _onIOPub(_: Kernel.IKernelConnection, msg: KernelMessage.IIOPubMessage): void {
    if (KernelMessage.isStatusMsg(msg) && SERVER_STATUSES.has(msg.content.execution_state)) {
      return; // written by the server, under its own session id
    }
    if (!this._ownRestarts && (msg.parent_header as Partial<KernelMessage.IHeader>).msg_type === 'shutdown_request') {
      void this._lostIfShutDown(SHUTDOWN_CHECKS); // a restart made elsewhere starts with one too
    }
    const session = msg.header.session;
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
   * kernel only once its process ended); report a shutdown when it does not.
   */
  private async _lostIfShutDown(checks: number): Promise<void> {
    for (let i = 0; i < checks && !this._isDisposed; i++) {
      if (i > 0) {
        await new Promise(resolve => setTimeout(resolve, 500));
      }
      const model = await KernelAPI.getKernelModel(this._kernel.id, this._kernel.serverSettings).catch(() => null);
      if (model === undefined && !this._isDisposed) {
        return this._onLost('the kernel was shut down');
      }
    }
  }

  private _isDisposed = false;
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

/** Kernel statuses the server itself sends on a kernel's IOPub channel. */
const SERVER_STATUSES: ReadonlySet<string> = new Set(['restarting', 'dead']);
