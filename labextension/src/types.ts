/**
 * The JSON the sidebar reads from the server extension (`{base_url}jetnb/lab/`), as
 * labextension/README.md documents it. Nothing here is trusted: every string is
 * rendered as text by React, never as HTML.
 */

export type RunStatus =
  | 'queued'
  | 'running'
  | 'waiting'
  | 'succeeded'
  | 'failed'
  | 'interrupted'
  | 'cancelled';

export const RUN_STATUSES: RunStatus[] = [
  'queued',
  'running',
  'waiting',
  'succeeded',
  'failed',
  'interrupted',
  'cancelled'
];

/** Runs that may still change: the Runs panel polls quickly while one is shown. */
export const ACTIVE_STATUSES: string[] = ['queued', 'running', 'waiting'];
/** What Cancel, and Resume, apply to (the server has the last word). */
export const CANCELLABLE: string[] = ['queued', 'running', 'waiting'];
export const RESUMABLE: string[] = ['waiting', 'failed', 'interrupted'];

export interface ITrigger {
  kind: string;
  label: string;
  next_fire: string | null;
}

export interface IRunRef {
  id: string;
  status: RunStatus;
  created_at: string;
}

export interface IWorkflow {
  name: string;
  path: string;
  description: string;
  triggers: ITrigger[];
  paused: boolean;
  last_run: IRunRef | null;
  problems: string[];
}

export interface IParameter {
  name: string;
  /** as the parameters cell declares it: int, float, bool, str, list, dict, any, or Optional[...] of one */
  type: string;
  default: unknown;
  help: string;
  /** the expression of a default the notebook computes when it runs (then `default` is null) */
  default_source?: string | null;
}

export interface IWorkflowDetail extends IWorkflow {
  parameters: IParameter[];
}

export interface IError {
  type: string;
  message: string;
}

export interface IStep {
  seq: number;
  name: string;
  kind: string;
  status: string;
  started_at: string | null;
  finished_at: string | null;
  duration: number | null;
  error: IError | null;
}

export interface IRun {
  id: string;
  workflow: string;
  status: RunStatus;
  trigger: string;
  params: Record<string, unknown>;
  result: unknown;
  error: IError | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration: number | null;
  started_by: string | null;
  rerun_of: string | null;
  steps?: IStep[];
}

export interface IRunPage {
  runs: IRun[];
  next: string | null;
}

export interface IApproval {
  id: number;
  run_id: string;
  workflow: string;
  step: string;
  approvers: string[];
  message: string;
  details: unknown;
  status: string;
  requested_at: string;
  expires_at: string | null;
  decided_at?: string | null;
  decided_by?: string | null;
  comment?: string | null;
}

export interface IServerState {
  running: boolean;
  url: string | null;
  pid: number | null;
  store: string;
}

/** The 422 answer to a run request: `fields` by parameter name, `problems` for everything. */
export interface IBadParameters {
  error: string;
  problems?: string[];
  fields?: Record<string, string>;
}
