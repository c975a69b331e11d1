import { Dialog, SessionContextDialogs } from '@jupyterlab/apputils';
import {
  CodeMirrorEditorFactory,
  CodeMirrorMimeTypeService,
  EditorExtensionRegistry,
  EditorLanguageRegistry,
  ybinding
} from '@jupyterlab/codemirror';
import { DocumentManager } from '@jupyterlab/docmanager';
import { DocumentRegistry, IDocumentWidget } from '@jupyterlab/docregistry';
import type * as nbformat from '@jupyterlab/nbformat';
import { NotebookModelFactory, NotebookPanel, NotebookWidgetFactory } from '@jupyterlab/notebook';
import { OutputAreaModel } from '@jupyterlab/outputarea';
import { RenderMimeRegistry, standardRendererFactories } from '@jupyterlab/rendermime';
import { Kernel, KernelAPI, ServiceManager } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { settingsFor } from '../../src/cli/connect';
import { ILocalJupyterServerOptions, startLocalJupyterServer } from '../../src/notebook/localServer';
import { ITestServer } from './jupyter';

/** The parts of a JupyterLab app a notebook panel needs, real ones, on a real server; panels attach to document.body. */
export interface ILabParts {
  server: ITestServer;
  services: ServiceManager;
  docManager: DocumentManager;
  rendermime: RenderMimeRegistry;
  /**
   * Open a notebook in a new panel with a python3 kernel, creating it as File > New > Notebook does when missing;
   * resolves once the kernel answered.
   */
  openNotebook(path: string): Promise<NotebookPanel>;
  /** The server's model of a kernel (REST, as another client sees it); undefined when the server has none. */
  kernelModel(id: string): Promise<Kernel.IModel | undefined>;
  /** Restart a kernel through the REST API, as another tab or program would. */
  restartKernel(id: string): Promise<void>;
  shutdownKernel(id: string): Promise<void>;
  stop(): Promise<void>;
}

/** Resolve once `check` holds (polled every 20 ms); reject after `timeoutMs`. */
export async function untilTrue(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms: ${check.toString()}`);
    }
    await new Promise(resolve => setTimeout(resolve, 20));
  }
}

/** Outputs as a JupyterLab output area stores them (`\r` and `\b` applied, `\r\n` joined: a pty's output has both). */
export function asJupyterLabStores(outputs: nbformat.IOutput[]): nbformat.IOutput[] {
  const model = new OutputAreaModel({ values: outputs });
  const json = model.toJSON();
  model.dispose();
  return json;
}

/** Answer every open JupyterLab dialog with Cancel (they queue later dialogs, e.g. "Kernel Restarting"). */
export function dismissDialogs(): void {
  Dialog.tracker.forEach(dialog => dialog.reject());
}

/** Click the button labelled `label` of the dialog JupyterLab shows (waits for it to appear). */
export async function clickDialogButton(label: string, timeoutMs = 10000): Promise<void> {
  const find = () =>
    [...document.querySelectorAll<HTMLButtonElement>('.jp-Dialog button')].find(b => b.textContent?.trim() === label);
  await untilTrue(() => find() !== undefined, timeoutMs);
  find()!.click();
}

/**
 * Start a real server (the project's venv, the bridge loaded; `options` for it) and build the app's
 * document machinery on it (no mocks).
 */
export async function startLab(options: ILocalJupyterServerOptions = {}): Promise<ILabParts> {
  const local = await startLocalJupyterServer(options);
  const server: ITestServer = { ...local, settings: settingsFor(local.baseUrl, local.token) };
  const services = new ServiceManager({ serverSettings: server.settings });
  await services.ready;

  const languages = new EditorLanguageRegistry();
  for (const language of EditorLanguageRegistry.getDefaultLanguages()) {
    languages.addLanguage(language);
  }
  const extensions = new EditorExtensionRegistry();
  extensions.addExtension({
    name: 'binding',
    factory: ({ model }) =>
      EditorExtensionRegistry.createImmutableExtension(
        ybinding({ ytext: (model.sharedModel as any).ysource, undoManager: (model.sharedModel as any).undoManager ?? undefined })
      )
  });
  const editorFactory = new CodeMirrorEditorFactory({ languages, extensions });
  const mimeTypeService = new CodeMirrorMimeTypeService(languages);
  const rendermime = new RenderMimeRegistry({ initialFactories: standardRendererFactories });

  const registry = new DocumentRegistry();
  registry.addModelFactory(new NotebookModelFactory({}));
  registry.addWidgetFactory(
    new NotebookWidgetFactory({
      name: 'Notebook',
      modelName: 'notebook',
      fileTypes: ['notebook'],
      defaultFor: ['notebook'],
      preferKernel: true,
      canStartKernel: true,
      rendermime,
      contentFactory: new NotebookPanel.ContentFactory({ editorFactory: editorFactory.newInlineEditor.bind(editorFactory) }),
      mimeTypeService
    })
  );
  const opened = new Signal<any, IDocumentWidget>({});
  const docManager = new DocumentManager({
    registry,
    manager: services,
    sessionDialogs: new SessionContextDialogs(),
    opener: {
      open: widget => {
        if (!widget.isAttached) {
          Widget.attach(widget, document.body);
        }
        opened.emit(widget);
      },
      opened
    }
  });

  return {
    server,
    services,
    docManager,
    rendermime,
    async openNotebook(path: string): Promise<NotebookPanel> {
      const exists = await services.contents.get(path, { content: false }).then(
        () => true,
        () => false
      );
      if (!exists) {
        // As File > New > Notebook does: the server writes a new (nbformat 4.5) notebook.
        const untitled = await services.contents.newUntitled({ type: 'notebook', path: '' });
        await services.contents.rename(untitled.path, path);
      }
      const panel = docManager.open(path, 'Notebook', { name: 'python3' }) as NotebookPanel;
      await panel.context.ready;
      await panel.sessionContext.ready;
      await panel.sessionContext.session!.kernel!.info;
      return panel;
    },
    kernelModel: id => KernelAPI.getKernelModel(id, server.settings),
    restartKernel: id => KernelAPI.restartKernel(id, server.settings),
    shutdownKernel: id => KernelAPI.shutdownKernel(id, server.settings),
    async stop(): Promise<void> {
      docManager.dispose();
      services.dispose();
      await server.stop();
    }
  };
}
