/**
 * The jetnb sidebar: a status line for `jetnb serve`, then Workflows, Runs and
 * Approvals as sections of Lab's own SidePanel (an accordion). Each section
 * knows whether it is visible, so a collapsed section or a hidden sidebar
 * stops polling.
 */

import { ReactWidget, SidePanel } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import type { AccordionPanel } from '@lumino/widgets';
import React from 'react';
import { jetnbIcon } from './icon';
import type { SidebarModel } from './model';
import { ApprovalsPanel } from './panels/approvals';
import { RunsPanel } from './panels/runs';
import { ServerStatus } from './panels/serverStatus';
import { WorkflowsPanel } from './panels/workflows';
import type { IRun } from './types';

export const SIDEBAR_ID = 'jetnb-sidebar';
const WORKFLOWS = 0;
const RUNS = 1;

/** A React body that is re-rendered, with its visibility, when it is shown or hidden. */
class Section extends ReactWidget {
  constructor(
    private readonly body: (visible: boolean) => JSX.Element,
    name: string,
    label: string
  ) {
    super();
    this.id = `jetnb-${name}`;
    this.title.label = label;
    this.addClass('jp-jetnb-section');
    this.node.dataset.jetnb = `section-${name}`;
  }

  protected render(): JSX.Element {
    return this.body(this.isVisible);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.update();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.update();
  }
}

export function createSidebar(model: SidebarModel, openLog: (run: IRun) => Promise<void>): SidePanel {
  const sidebar = new SidePanel();
  sidebar.id = SIDEBAR_ID;
  sidebar.title.icon = jetnbIcon;
  sidebar.title.caption = 'jetnb: workflows, runs and approvals';
  sidebar.addClass('jp-jetnb-sidebar');
  sidebar.node.dataset.jetnb = 'sidebar';
  sidebar.header.addWidget(
    new Section(
      visible => (
        <>
          <h2 className="jp-jetnb-heading">jetnb</h2>
          <ServerStatus model={model} visible={visible} />
        </>
      ),
      'server',
      'jetnb serve'
    )
  );
  sidebar.addWidget(new Section(visible => <WorkflowsPanel model={model} visible={visible} />, 'workflows', 'Workflows'));
  sidebar.addWidget(
    new Section(visible => <RunsPanel model={model} visible={visible} openLog={openLog} />, 'runs', 'Runs')
  );
  sidebar.addWidget(new Section(visible => <ApprovalsPanel model={model} visible={visible} />, 'approvals', 'Approvals'));

  const sections = sidebar.content as AccordionPanel;
  model.showRunsRequested.connect(() => sections.expand(RUNS));
  model.changed.connect(() => {
    if (model.form) {
      sections.expand(WORKFLOWS);
    }
  });
  return sidebar;
}
