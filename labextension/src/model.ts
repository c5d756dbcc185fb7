/**
 * What the sidebar's panels share: the API, the open Run form, the selected run
 * and the runs filter. State lives here rather than in a component so a
 * command (e.g. "Run as workflow") can set it before the panel has rendered.
 */

import { ISignal, Signal } from '@lumino/signaling';
import type { JetnbApi } from './api';

/** What a Run form runs: a listed workflow by name, or any notebook by its Lab path. */
export type FormTarget =
  | { kind: 'workflow'; name: string }
  | { kind: 'notebook'; path: string };

export class SidebarModel {
  constructor(readonly api: JetnbApi) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get form(): FormTarget | null {
    return this._form;
  }

  get selectedRun(): string | null {
    return this._selectedRun;
  }

  /** The workflow the Runs panel shows; '' for all. */
  get runsWorkflow(): string {
    return this._runsWorkflow;
  }

  openForm(target: FormTarget): void {
    this._form = target;
    this._changed.emit();
  }

  closeForm(): void {
    this._form = null;
    this._changed.emit();
  }

  /** Show a run in the Runs panel (a run just started, a rerun, a decided request's run). */
  selectRun(id: string | null): void {
    this._selectedRun = id;
    this._changed.emit();
    this.showRunsRequested.emit(id);
  }

  filterRuns(workflow: string): void {
    this._runsWorkflow = workflow;
    this._changed.emit();
  }

  /** Emitted when a run should come into view: the sidebar expands the Runs section. */
  readonly showRunsRequested = new Signal<this, string | null>(this);

  private _changed = new Signal<this, void>(this);
  private _form: FormTarget | null = null;
  private _selectedRun: string | null = null;
  private _runsWorkflow = '';
}
