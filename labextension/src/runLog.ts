/**
 * Run logs opened in JupyterLab as read-only notebooks.
 *
 * A run log is wherever the store says (often outside the file browser's
 * root, or in a runs/ folder nobody should edit), so it is not opened as a
 * file: a contents drive named `jetnb-run-log` serves
 * `<workflow>/<run id>.ipynb` from `GET runs/<id>/log`, and Lab's own notebook
 * widget shows it. Nothing is copied into the Lab root. The model is
 * `writable: false` (Lab disables saving), every cell is `editable: false`,
 * `deletable: false` and untrusted (Lab sanitises its HTML and runs none of
 * its scripts), and it is opened without a kernel (JupyterLab >= 4.5 honours
 * that; older versions start one, which cannot save anything either).
 */

import { PathExt } from '@jupyterlab/coreutils';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import type { Contents, ServerConnection } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';
import type { JetnbApi } from './api';
import type { IRun } from './types';

export const DRIVE = 'jetnb-run-log';
const READ_ONLY = 'a run log is read-only';

interface INotebookJson {
  cells: { metadata?: Record<string, unknown> }[];
  [key: string]: unknown;
}

export function isRunLog(path: string): boolean {
  return path.startsWith(`${DRIVE}:`);
}

export class RunLogDrive implements Contents.IDrive {
  readonly name = DRIVE;
  readonly fileChanged = new Signal<this, Contents.IChangedArgs>(this);

  constructor(private readonly api: JetnbApi) {}

  get serverSettings(): ServerConnection.ISettings {
    return this.api.settings;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    this._disposed = true;
    Signal.clearData(this);
  }

  /** Fetch a run's log now (so a missing log is reported where the button is) for the next `get` of `path`. */
  async prefetch(path: string, runId: string): Promise<void> {
    this._fetched.set(path, await this.fetch(runId));
  }

  async get(localPath: string): Promise<Contents.IModel> {
    const notebook = this._fetched.get(localPath) ?? (await this.fetch(runIdOf(localPath)));
    this._fetched.delete(localPath);
    const now = new Date().toISOString();
    return {
      name: PathExt.basename(localPath),
      path: localPath,
      type: 'notebook',
      format: 'json',
      mimetype: 'application/x-ipynb+json',
      content: readOnly(notebook),
      writable: false,
      created: now,
      last_modified: now
    };
  }

  async getDownloadUrl(localPath: string): Promise<string> {
    return this.api.runLogUrl(runIdOf(localPath));
  }

  newUntitled(): Promise<Contents.IModel> {
    return Promise.reject(new Error(READ_ONLY));
  }

  delete(): Promise<void> {
    return Promise.reject(new Error(READ_ONLY));
  }

  rename(): Promise<Contents.IModel> {
    return Promise.reject(new Error(READ_ONLY));
  }

  save(): Promise<Contents.IModel> {
    return Promise.reject(new Error(READ_ONLY));
  }

  copy(): Promise<Contents.IModel> {
    return Promise.reject(new Error(READ_ONLY));
  }

  createCheckpoint(): Promise<Contents.ICheckpointModel> {
    return Promise.reject(new Error(READ_ONLY));
  }

  async listCheckpoints(): Promise<Contents.ICheckpointModel[]> {
    return [];
  }

  restoreCheckpoint(): Promise<void> {
    return Promise.reject(new Error(READ_ONLY));
  }

  deleteCheckpoint(): Promise<void> {
    return Promise.reject(new Error(READ_ONLY));
  }

  private fetch(runId: string): Promise<INotebookJson> {
    return this.api.request<INotebookJson>(this.api.runLogUrl(runId));
  }

  private _disposed = false;
  private _fetched = new Map<string, INotebookJson>();
}

/**
 * Open (or reload and reveal) a run's log in the main area, with Lab's
 * notebook widget and no kernel; a refusal (no log yet) is thrown to the caller.
 */
export async function openRunLog(docManager: IDocumentManager, drive: RunLogDrive, run: IRun): Promise<void> {
  const localPath = `${run.workflow}/${run.id}.ipynb`;
  const path = `${DRIVE}:${localPath}`;
  await drive.prefetch(localPath, run.id);
  const open = docManager.findWidget(path, 'Notebook');
  if (open) {
    await open.context.revert(); // a run that was still going has more to show now
  }
  docManager.openOrReveal(path, 'Notebook', undefined, undefined, { shouldStart: false, canStart: false });
}

function runIdOf(localPath: string): string {
  return PathExt.basename(localPath, '.ipynb');
}

function readOnly(notebook: INotebookJson): INotebookJson {
  return {
    ...notebook,
    cells: notebook.cells.map(cell => ({
      ...cell,
      metadata: { ...cell.metadata, editable: false, deletable: false, trusted: false }
    }))
  };
}
