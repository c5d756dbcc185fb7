/**
 * jetnb in JupyterLab: the sidebar (workflows, runs, approvals, `jetnb serve`
 * status), the read-only run log drive, "Run as workflow" for any notebook.
 * Everything talks to the jetnb server extension (jetnb/jupyter/).
 */

import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker } from '@jupyterlab/notebook';
import { JetnbApi } from './api';
import { NotebookToolbarItems, registerCommands } from './commands';
import { SidebarModel } from './model';
import { openRunLog, RunLogDrive } from './runLog';
import { createSidebar } from './sidebar';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jetnb:sidebar',
  description: 'jetnb workflows, runs and approvals in a sidebar; Run as workflow for any notebook.',
  autoStart: true,
  requires: [IDocumentManager, INotebookTracker],
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    docManager: IDocumentManager,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const api = new JetnbApi(app.serviceManager.serverSettings);
    const model = new SidebarModel(api);
    const drive = new RunLogDrive(api);
    app.serviceManager.contents.addDrive(drive);
    const sidebar = createSidebar(model, run => openRunLog(docManager, drive, run));
    app.shell.add(sidebar, 'left', { rank: 650 });
    restorer?.add(sidebar, sidebar.id);
    registerCommands(app, model, tracker, palette);
    app.docRegistry.addWidgetExtension('Notebook', new NotebookToolbarItems(app.commands));
  }
};

export default plugin;
