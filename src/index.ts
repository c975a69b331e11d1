import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';

import { BridgeClient } from './request';
import { DEFAULT_AGENT_SETTINGS, IAgentSettings, IAievModel } from './tokens';
import { LabHost } from './ui/labHost';
import { AievModel } from './ui/model';
import { AievSidebar } from './ui/sidebar';

const PLUGIN_ID = 'jupyterlab-aiev:plugin';

/** Command ids (also in `schema/settings/plugin.json`'s shortcuts). */
export const CommandIDs = {
  open: 'aiev:open-sidebar',
  ask: 'aiev:ask',
  stop: 'aiev:stop',
  newSession: 'aiev:new-session'
} as const;

const aievIcon = new LabIcon({
  name: 'jupyterlab-aiev:icon',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path class="jp-icon3" fill="#616161" d="M4 4h16v3H4zm0 6.5h10v3H4zM4 17h16v3H4zm13-6.5 3 1.5-3 1.5z"/></svg>'
});

/** The agent settings from the settings registry's composite values, defaults for anything missing. */
function agentSettings(composite: Partial<Record<keyof IAgentSettings, unknown>>): IAgentSettings {
  const pick = <K extends keyof IAgentSettings>(key: K): IAgentSettings[K] =>
    typeof composite[key] === typeof DEFAULT_AGENT_SETTINGS[key] ? (composite[key] as IAgentSettings[K]) : DEFAULT_AGENT_SETTINGS[key];
  return {
    model: pick('model').trim(),
    toolMode: composite.toolMode === 'fenced' ? 'fenced' : 'native',
    vision: pick('vision'),
    maxSteps: pick('maxSteps'),
    cellTimeout: pick('cellTimeout'),
    budgetChars: pick('budgetChars'),
    verifyGate: pick('verifyGate'),
    approvalMode: (['run', 'ask', 'ask-risky'] as const).find(mode => mode === composite.approvalMode) ?? DEFAULT_AGENT_SETTINGS.approvalMode
  };
}

/** Wires the sidebar model and view into JupyterLab: the right sidebar, commands, settings. */
const plugin: JupyterFrontEndPlugin<IAievModel> = {
  id: PLUGIN_ID,
  description: 'Agent sidebar that runs notebook cells and records execution-verified samples.',
  autoStart: true,
  provides: IAievModel,
  requires: [INotebookTracker, IRenderMimeRegistry],
  optional: [ILayoutRestorer, ISettingRegistry, ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    rendermime: IRenderMimeRegistry,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ): IAievModel => {
    const trans = (translator ?? nullTranslator).load('jupyterlab_aiev');
    const serverSettings = app.serviceManager.serverSettings;
    const client = new BridgeClient(serverSettings);
    const model = new AievModel({ host: new LabHost({ app, tracker, client, serverSettings }), client, trans });
    const sidebar = new AievSidebar(model, rendermime, trans);
    sidebar.id = 'jp-aiev-sidebar';
    sidebar.title.icon = aievIcon;
    sidebar.title.caption = trans.__('AIEV agent');
    app.shell.add(sidebar, 'right', { rank: 600 });
    restorer?.add(sidebar, sidebar.id);

    const category = trans.__('AIEV agent');
    app.commands.addCommand(CommandIDs.open, {
      label: trans.__('Open the Agent Sidebar'),
      execute: () => app.shell.activateById(sidebar.id)
    });
    app.commands.addCommand(CommandIDs.ask, {
      label: trans.__('Ask the Agent About the Active Notebook'),
      execute: args => {
        app.shell.activateById(sidebar.id);
        if (typeof args.text === 'string') {
          model.setDraft(args.text);
        }
        model.requestFocus();
      }
    });
    app.commands.addCommand(CommandIDs.stop, {
      label: trans.__('Stop the Agent'),
      isEnabled: () => Boolean(model.current?.busy),
      execute: () => model.stop()
    });
    app.commands.addCommand(CommandIDs.newSession, {
      label: trans.__('New Agent Session'),
      execute: () => model.newSession()
    });
    model.changed.connect(() => app.commands.notifyCommandChanged(CommandIDs.stop));
    for (const command of Object.values(CommandIDs)) {
      palette?.addItem({ command, category });
    }

    settingRegistry
      ?.load(PLUGIN_ID)
      .then(settings => {
        const apply = () => model.setSettings(agentSettings(settings.composite as never));
        apply();
        settings.changed.connect(apply);
      })
      .catch(reason => console.error('jupyterlab-aiev: failed to load settings.', reason));

    // A log the server has not taken for a while would be lost with the tab: ask before leaving.
    window.addEventListener('beforeunload', event => {
      if (model.current?.saveState === 'unsaved') {
        event.preventDefault();
        event.returnValue = '';
      }
    });
    void model.refresh();
    return model;
  }
};

export default plugin;
