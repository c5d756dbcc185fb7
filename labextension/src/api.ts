/**
 * The server extension's API, called through Jupyter's own `ServerConnection`
 * so requests carry the page's base URL, token or cookie, and XSRF header.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type {
  IApproval,
  IRun,
  IRunPage,
  IServerState,
  IWorkflow,
  IWorkflowDetail
} from './types';

/** A refused request: `status` 0 when the server could not be reached; `body` is the JSON answer. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>
  ) {
    super(
      typeof body.error === 'string' ? body.error : `HTTP error ${status}`
    );
  }
}

export interface IRunFilter {
  workflow?: string;
  status?: string;
  limit?: number;
}

export class JetnbApi {
  constructor(readonly settings: ServerConnection.ISettings) {}

  /** The URL of an endpoint, e.g. for a download link. */
  url(path: string, query: Record<string, string | number | undefined> = {}): string {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== '') {
        search.set(key, String(value));
      }
    }
    const base = URLExt.join(this.settings.baseUrl, 'jetnb/lab', path);
    return search.toString() ? `${base}?${search}` : base;
  }

  async request<T>(url: string, init: RequestInit = {}): Promise<T> {
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (error) {
      throw new ApiError(0, {
        error: `the Jupyter server cannot be reached (${(error as Error).message})`
      });
    }
    const text = await response.text();
    let body: Record<string, unknown> = {};
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = { error: `the server answered ${response.status} without JSON` };
      }
    }
    if (!response.ok) {
      throw new ApiError(response.status, body);
    }
    return body as T;
  }

  private post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>(this.url(path), {
      method: 'POST',
      body: JSON.stringify(body)
    });
  }

  async workflows(): Promise<IWorkflow[]> {
    return (await this.request<{ workflows: IWorkflow[] }>(this.url('workflows')))
      .workflows;
  }

  workflow(name: string): Promise<IWorkflowDetail> {
    return this.request(this.url(`workflows/${encodeURIComponent(name)}`));
  }

  /** Any notebook of the Lab root described as a workflow (for "Run as workflow"). */
  notebook(path: string): Promise<IWorkflowDetail> {
    return this.request(this.url('notebook', { path }));
  }

  startWorkflow(name: string, params: Record<string, unknown>): Promise<{ run_id: string }> {
    return this.post(`workflows/${encodeURIComponent(name)}/runs`, { params });
  }

  startNotebook(path: string, params: Record<string, unknown>): Promise<{ run_id: string }> {
    return this.post('notebook/runs', { path, params });
  }

  runs(filter: IRunFilter): Promise<IRunPage> {
    return this.request(this.url('runs', { ...filter }));
  }

  run(id: string): Promise<IRun> {
    return this.request(this.url(`runs/${encodeURIComponent(id)}`));
  }

  cancel(id: string, reason: string): Promise<IRun> {
    return this.post(`runs/${encodeURIComponent(id)}/cancel`, { reason });
  }

  rerun(id: string): Promise<{ run_id: string }> {
    return this.post(`runs/${encodeURIComponent(id)}/rerun`);
  }

  resume(id: string): Promise<{ run_id: string }> {
    return this.post(`runs/${encodeURIComponent(id)}/resume`);
  }

  runLogUrl(id: string): string {
    return this.url(`runs/${encodeURIComponent(id)}/log`);
  }

  approvals(): Promise<{ approvals: IApproval[] }> {
    return this.request(this.url('approvals'));
  }

  decide(id: number, approve: boolean, comment: string): Promise<IApproval> {
    return this.post(`approvals/${id}/${approve ? 'approve' : 'reject'}`, {
      comment: comment || null
    });
  }

  async whoami(): Promise<string> {
    return (await this.request<{ user: string }>(this.url('whoami'))).user;
  }

  server(): Promise<IServerState> {
    return this.request(this.url('server'));
  }

  startServer(): Promise<{ started: boolean; pid: number }> {
    return this.post('server/start');
  }
}

/** What to tell a person about a failed request. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
