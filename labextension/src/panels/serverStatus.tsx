/**
 * The status line: whether `jetnb serve` runs for the Lab's store (only then do
 * schedules, webhooks and data changes fire), with a Start server button.
 */

import { Button } from '@jupyterlab/ui-components';
import React, { useState } from 'react';
import { errorText } from '../api';
import { usePolling } from '../hooks';
import type { SidebarModel } from '../model';
import type { IServerState } from '../types';

const REFRESH_MS = 5000;
const STARTING_MS = 1000;
const START_LIMIT_MS = 20_000; // then say where to look instead of waiting without end

export function ServerStatus(props: { model: SidebarModel; visible: boolean }): JSX.Element {
  const { model, visible } = props;
  const [state, setState] = useState<IServerState | null>(null);
  const [note, setNote] = useState<{ text: string; error: boolean } | null>(null);
  const [startedAt, setStartedAt] = useState<number | null>(null);
  const starting = startedAt !== null;

  usePolling(
    async () => {
      try {
        const now = await model.api.server();
        setState(now);
        if (now.running && starting) {
          setStartedAt(null);
          setNote(null);
        } else if (starting && Date.now() - startedAt > START_LIMIT_MS) {
          setStartedAt(null);
          setNote({ text: 'jetnb serve did not start: its output is in serve.log next to the store', error: true });
        }
      } catch (failure) {
        setNote({ text: errorText(failure), error: true });
      }
    },
    visible ? (starting ? STARTING_MS : REFRESH_MS) : null
  );

  const start = async () => {
    setNote({ text: 'Starting jetnb serve…', error: false });
    try {
      const started = await model.api.startServer();
      setStartedAt(Date.now());
      setNote({ text: `Starting jetnb serve (pid ${started.pid})…`, error: false });
    } catch (failure) {
      setNote({ text: errorText(failure), error: true });
    }
  };

  return (
    <div className="jp-jetnb-server" data-jetnb="server-status" data-running={state ? String(state.running) : undefined}>
      {state?.running && (
        <span title={`store ${state.store}`}>
          ● jetnb serve is running{state.url ? ` on ${state.url}` : ''}: triggers fire
        </span>
      )}
      {state && !state.running && (
        <>
          <span title={`store ${state.store}`}>○ jetnb serve is not running: schedules and webhooks do not fire</span>
          <Button small data-jetnb="start-server" disabled={starting} onClick={start}>
            Start server
          </Button>
        </>
      )}
      {note && <div className={note.error ? 'jp-jetnb-error' : 'jp-jetnb-muted'}>{note.text}</div>}
    </div>
  );
}
