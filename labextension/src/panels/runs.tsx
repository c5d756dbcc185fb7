/**
 * The Runs panel: runs newest first, filtered by workflow and status; the
 * selected run shows its step timeline and its actions. It polls every 1.5 s
 * while visible and something shown may still change, else every 10 s.
 */

import { Button } from '@jupyterlab/ui-components';
import React, { useState } from 'react';
import { errorText } from '../api';
import { duration, firstLine, json, symbol, when } from '../format';
import { usePolling, useSignal } from '../hooks';
import type { SidebarModel } from '../model';
import { ACTIVE_STATUSES, CANCELLABLE, IRun, RESUMABLE, RUN_STATUSES } from '../types';

const FAST_MS = 1500;
const SLOW_MS = 10_000; // to notice runs started elsewhere (schedules, the CLI)
const PAGE = 50;

export function RunsPanel(props: {
  model: SidebarModel;
  visible: boolean;
  openLog: (run: IRun) => Promise<void>;
}): JSX.Element {
  const { model, visible, openLog } = props;
  useSignal(model.changed);
  const [runs, setRuns] = useState<IRun[] | null>(null);
  const [more, setMore] = useState(false);
  const [limit, setLimit] = useState(PAGE);
  const [status, setStatus] = useState('');
  const [workflows, setWorkflows] = useState<string[]>([]);
  const [detail, setDetail] = useState<IRun | null>(null);
  const [error, setError] = useState<string | null>(null);
  const selected = model.selectedRun;
  const workflow = model.runsWorkflow;

  const refresh = async () => {
    try {
      const page = await model.api.runs({ workflow, status, limit });
      setRuns(page.runs);
      setMore(page.next !== null);
      setWorkflows(known => [...new Set([...known, ...page.runs.map(r => r.workflow)])].sort());
      setDetail(selected ? await model.api.run(selected) : null);
      setError(null);
    } catch (failure) {
      setError(errorText(failure));
    }
  };
  const active =
    (runs ?? []).some(r => ACTIVE_STATUSES.includes(r.status)) ||
    (detail !== null && ACTIVE_STATUSES.includes(detail.status));
  usePolling(refresh, visible ? (active ? FAST_MS : SLOW_MS) : null, `${workflow}|${status}|${limit}|${selected}`);

  // the selected run stays in view when the filter or the page leaves it out (a run just started, say)
  const keep = detail !== null && detail.id === selected && runs !== null && !runs.some(r => r.id === detail.id);
  const shown = keep ? [detail, ...runs] : runs;
  return (
    <div className="jp-jetnb-list" data-jetnb="runs">
      <div className="jp-jetnb-row jp-jetnb-filters">
        <select
          className="jp-mod-styled"
          data-jetnb="filter-workflow"
          value={workflow}
          onChange={e => model.filterRuns(e.target.value)}
        >
          <option value="">all workflows</option>
          {[...new Set([...workflows, ...(workflow ? [workflow] : [])])].map(name => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
        <select className="jp-mod-styled" data-jetnb="filter-status" value={status} onChange={e => setStatus(e.target.value)}>
          <option value="">any status</option>
          {RUN_STATUSES.map(s => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      {error && <div className="jp-jetnb-error">{error}</div>}
      {runs?.length === 0 && <div className="jp-jetnb-muted">No runs{workflow || status ? ' match' : ' yet'}.</div>}
      {shown?.map(run => (
        <RunItem
          key={run.id}
          model={model}
          run={run.id === detail?.id ? detail : run}
          selected={run.id === selected}
          openLog={openLog}
          refresh={refresh}
        />
      ))}
      {more && (
        <Button small minimal data-jetnb="more-runs" onClick={() => setLimit(limit + PAGE)}>
          Older runs
        </Button>
      )}
    </div>
  );
}

function RunItem(props: {
  model: SidebarModel;
  run: IRun;
  selected: boolean;
  openLog: (run: IRun) => Promise<void>;
  refresh: () => Promise<void>;
}): JSX.Element {
  const { model, run, selected, openLog, refresh } = props;
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);

  const act = async (label: string, action: () => Promise<string | null>) => {
    setMessage({ text: `${label}…`, error: false });
    try {
      const next = await action();
      setMessage(null);
      if (next && next !== run.id) {
        model.selectRun(next);
      }
      await refresh();
    } catch (failure) {
      setMessage({ text: errorText(failure), error: true });
    }
  };

  return (
    <div
      className={`jp-jetnb-run${selected ? ' jp-mod-selected' : ''}`}
      data-jetnb="run"
      data-run-id={run.id}
      data-status={run.status}
    >
      <div className="jp-jetnb-clickable" onClick={() => model.selectRun(selected ? null : run.id)}>
        <div className="jp-jetnb-row">
          <span className={`jp-jetnb-status jp-jetnb-status-${run.status}`} title={run.status}>
            {symbol(run.status)}
          </span>
          <span className="jp-jetnb-title">{run.workflow}</span>
          <span className="jp-jetnb-spacer" />
          <span className="jp-jetnb-muted" title={run.created_at}>
            {when(run.created_at)}
          </span>
        </div>
        <div className="jp-jetnb-muted">
          <span data-jetnb="run-status">{run.status}</span>
          {run.duration !== null ? ` in ${duration(run.duration)}` : ''} · {run.trigger}
        </div>
      </div>
      {selected && (
        <div className="jp-jetnb-run-detail" data-jetnb="run-detail">
          <div className="jp-jetnb-muted">
            {run.id} · {run.trigger}
            {run.started_by ? ` by ${run.started_by}` : ''}
            {run.rerun_of ? ` · rerun of ${run.rerun_of}` : ''}
          </div>
          {Object.keys(run.params ?? {}).length > 0 && <div className="jp-jetnb-code">params {json(run.params)}</div>}
          <ol className="jp-jetnb-steps" data-jetnb="steps">
            {(run.steps ?? []).map(step => (
              <li key={step.seq} data-jetnb="step" data-step={step.name} data-status={step.status}>
                <span className={`jp-jetnb-status jp-jetnb-status-${step.status}`} title={step.status}>
                  {symbol(step.status)}
                </span>{' '}
                {step.name} <span className="jp-jetnb-muted">{duration(step.duration)}</span>
                {step.error && (
                  <div className="jp-jetnb-error" data-jetnb="step-error">
                    {step.error.type}: {firstLine(step.error.message)}
                  </div>
                )}
              </li>
            ))}
          </ol>
          {run.error && (
            <div className="jp-jetnb-error" data-jetnb="run-error">
              {run.error.type}: {firstLine(run.error.message)}
            </div>
          )}
          {run.result !== null && run.result !== undefined && (
            <pre className="jp-jetnb-code" data-jetnb="run-result">
              {json(run.result, true)}
            </pre>
          )}
          <div className="jp-jetnb-row jp-jetnb-actions">
            {CANCELLABLE.includes(run.status) && (
              <Button
                small
                data-jetnb="cancel-run"
                onClick={() => act('Cancelling', async () => (await model.api.cancel(run.id, 'cancelled in JupyterLab')).id)}
              >
                Cancel
              </Button>
            )}
            <Button small data-jetnb="rerun-run" onClick={() => act('Starting a rerun', async () => (await model.api.rerun(run.id)).run_id)}>
              Rerun
            </Button>
            {RESUMABLE.includes(run.status) && (
              <Button small data-jetnb="resume-run" onClick={() => act('Resuming', async () => (await model.api.resume(run.id)).run_id)}>
                Resume
              </Button>
            )}
            <Button small data-jetnb="open-log" onClick={() => act('Opening the run log', async () => (await openLog(run), null))}>
              Open run log
            </Button>
          </div>
          {message && (
            <div className={message.error ? 'jp-jetnb-error' : 'jp-jetnb-muted'} data-jetnb="run-message">
              {message.text}
            </div>
          )}
        </div>
      )}
    </div>
  );
}
