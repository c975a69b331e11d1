import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { LabIcon } from '@jupyterlab/ui-components';

import { IAievModel } from './tokens';
import { AievModel } from './ui/model';
import { AievSidebar } from './ui/sidebar';

const PLUGIN_ID = 'jupyterlab-aiev:plugin';

const aievIcon = new LabIcon({
  name: 'jupyterlab-aiev:icon',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path class="jp-icon3" fill="#616161" d="M4 4h16v3H4zm0 6.5h10v3H4zM4 17h16v3H4zm13-6.5 3 1.5-3 1.5z"/></svg>'
});

/** Wires the sidebar model and view into JupyterLab. */
const plugin: JupyterFrontEndPlugin<IAievModel> = {
  id: PLUGIN_ID,
  description: 'Agent sidebar that runs notebook cells and records execution-verified samples.',
  autoStart: true,
  provides: IAievModel,
  optional: [ILayoutRestorer, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null
  ): IAievModel => {
    const model = new AievModel();
    const sidebar = new AievSidebar(model);
    sidebar.id = 'jp-aiev-sidebar';
    sidebar.title.icon = aievIcon;
    sidebar.title.caption = 'AIEV agent';
    app.shell.add(sidebar, 'right', { rank: 600 });
    restorer?.add(sidebar, sidebar.id);
    settingRegistry?.load(PLUGIN_ID).catch(reason => {
      console.error('jupyterlab-aiev: failed to load settings.', reason);
    });
    void model.refresh();
    console.log('JupyterLab extension jupyterlab-aiev is activated!');
    return model;
  }
};

export default plugin;
