/** The Workflows panel: each workflow notebook of the Lab root, its triggers and state, and a Run button. */

import { Button } from '@jupyterlab/ui-components';
import React, { useState } from 'react';
import { errorText } from '../api';
import { symbol, when } from '../format';
import { usePolling, useSignal } from '../hooks';
import type { SidebarModel } from '../model';
import type { IWorkflow } from '../types';
import { RunForm } from './runForm';

const REFRESH_MS = 10_000; // next fire times and last runs move slowly

export function WorkflowsPanel(props: {
  model: SidebarModel;
  visible: boolean;
}): JSX.Element {
  const { model, visible } = props;
  useSignal(model.changed);
  const [workflows, setWorkflows] = useState<IWorkflow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const form = model.form;

  usePolling(
    async () => {
      try {
        setWorkflows(await model.api.workflows());
        setError(null);
      } catch (failure) {
        setError(errorText(failure));
      }
    },
    visible && !form ? REFRESH_MS : null
  );

  if (form) {
    return <RunForm model={model} target={form} />;
  }
  return (
    <div className="jp-jetnb-list" data-jetnb="workflows">
      {error && <div className="jp-jetnb-error">{error}</div>}
      {workflows === null && !error && <div className="jp-jetnb-muted">Loading…</div>}
      {workflows?.length === 0 && (
        <div className="jp-jetnb-muted">
          No workflow notebooks (a notebook with a %%workflow cell) under the Lab root. Any notebook can run with
          "Run as workflow" in its toolbar.
        </div>
      )}
      {workflows?.map(workflow => (
        <WorkflowItem key={workflow.path} model={model} workflow={workflow} />
      ))}
    </div>
  );
}

function WorkflowItem(props: { model: SidebarModel; workflow: IWorkflow }): JSX.Element {
  const { model, workflow } = props;
  const runnable = workflow.problems.length === 0;
  return (
    <div className="jp-jetnb-card" data-jetnb="workflow" data-name={workflow.name}>
      <div className="jp-jetnb-row">
        <span className="jp-jetnb-title" title={workflow.path}>
          {workflow.name}
        </span>
        {workflow.paused && (
          <span className="jp-jetnb-badge" data-jetnb="paused" title="automatic triggers are paused">
            paused
          </span>
        )}
        <span className="jp-jetnb-spacer" />
        <Button
          small
          data-jetnb="run-workflow"
          disabled={!runnable}
          title={runnable ? `Run ${workflow.name} with parameters` : 'fix its problems first'}
          onClick={() => model.openForm({ kind: 'workflow', name: workflow.name })}
        >
          Run
        </Button>
      </div>
      {workflow.description && <div className="jp-jetnb-description">{workflow.description}</div>}
      <div className="jp-jetnb-muted">{workflow.path}</div>
      {workflow.triggers.length > 0 && (
        <div className="jp-jetnb-triggers">
          {workflow.triggers.map(trigger => (
            <span className="jp-jetnb-trigger" data-jetnb="trigger" key={`${trigger.kind}:${trigger.label}`}>
              {trigger.label}
              {trigger.next_fire && (
                <span className="jp-jetnb-muted" data-jetnb="next-fire" title={trigger.next_fire}>
                  {' '}
                  · next {when(trigger.next_fire)}
                </span>
              )}
            </span>
          ))}
        </div>
      )}
      {workflow.last_run && (
        <div className="jp-jetnb-muted">
          last run{' '}
          <a
            className="jp-jetnb-link"
            data-jetnb="last-run"
            onClick={() => {
              model.filterRuns(workflow.name);
              model.selectRun(workflow.last_run!.id);
            }}
          >
            {symbol(workflow.last_run.status)} {workflow.last_run.status} {when(workflow.last_run.created_at)}
          </a>
        </div>
      )}
      {workflow.problems.length > 0 && (
        <ul className="jp-jetnb-problems" data-jetnb="problems">
          {workflow.problems.map((problem, index) => (
            <li key={index}>{problem}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
