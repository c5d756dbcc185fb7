/** "jetnb: Open sidebar", "jetnb: Run as workflow", and the notebook toolbar's button for the latter. */

import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { ICommandPalette } from '@jupyterlab/apputils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { INotebookModel, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ToolbarButton } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import type { IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';
import { jetnbIcon } from './icon';
import type { SidebarModel } from './model';
import { isRunLog } from './runLog';
import { SIDEBAR_ID } from './sidebar';

export const CommandIDs = {
  openSidebar: 'jetnb:open-sidebar',
  runAsWorkflow: 'jetnb:run-as-workflow'
};

export function registerCommands(
  app: JupyterFrontEnd,
  model: SidebarModel,
  tracker: INotebookTracker,
  palette: ICommandPalette | null
): void {
  /** The notebook a command is about: the one named by `path`, else the current one. */
  const notebookOf = (args: { path?: unknown }): NotebookPanel | null =>
    (typeof args.path === 'string' ? tracker.find(panel => panel.context.path === args.path) : tracker.currentWidget) ??
    null;

  app.commands.addCommand(CommandIDs.openSidebar, {
    label: 'jetnb: Open sidebar',
    icon: jetnbIcon,
    execute: () => app.shell.activateById(SIDEBAR_ID)
  });
  app.commands.addCommand(CommandIDs.runAsWorkflow, {
    label: 'jetnb: Run as workflow',
    caption: 'Save the notebook, then run it as a jetnb workflow with parameters from a form',
    icon: jetnbIcon,
    isEnabled: args => {
      const panel = notebookOf(args);
      return panel !== null && !isRunLog(panel.context.path);
    },
    execute: async args => {
      const panel = notebookOf(args);
      if (panel === null || isRunLog(panel.context.path)) {
        return;
      }
      if (panel.context.model.dirty) {
        await panel.context.save(); // the run reads the notebook from disk: it must be what the person sees
      }
      model.openForm({ kind: 'notebook', path: panel.context.path });
      app.shell.activateById(SIDEBAR_ID);
    }
  });
  for (const command of [CommandIDs.runAsWorkflow, CommandIDs.openSidebar]) {
    palette?.addItem({ command, category: 'jetnb' });
  }
}

/** Adds "Run as workflow" to every notebook's toolbar, and a read-only label to a run log's. */
export class NotebookToolbarItems implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel> {
  constructor(private readonly commands: CommandRegistry) {}

  createNew(panel: NotebookPanel, context: DocumentRegistry.IContext<INotebookModel>): IDisposable {
    if (isRunLog(context.path)) {
      const label = new Widget();
      label.node.textContent = 'jetnb run log · read-only';
      label.addClass('jp-jetnb-readonly-label');
      label.node.dataset.jetnb = 'run-log-label';
      panel.toolbar.insertItem(0, 'jetnb-run-log', label);
      return label;
    }
    const button = new ToolbarButton({
      icon: jetnbIcon,
      label: 'Run as workflow',
      tooltip: 'Save, then run this notebook as a jetnb workflow',
      onClick: () => void this.commands.execute(CommandIDs.runAsWorkflow, { path: context.path })
    });
    button.node.dataset.jetnb = 'run-as-workflow';
    panel.toolbar.insertItem(10, 'jetnb-run-as-workflow', button);
    return button;
  }
}
