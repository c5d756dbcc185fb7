/** React hooks over Lumino signals and timers, shared by the panels. */

import { ISignal } from '@lumino/signaling';
import { useEffect, useReducer, useRef } from 'react';

/** Re-render whenever `signal` fires. */
export function useSignal<T>(signal: ISignal<T, unknown>): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const slot = () => bump();
    signal.connect(slot);
    return () => {
      signal.disconnect(slot);
    };
  }, [signal]);
}

/**
 * Call `tick` now and then every `every` ms, one call at a time; `null` stops.
 * The panels pass `null` while they are hidden, so a collapsed sidebar costs
 * the server nothing. A new `key` (a filter, a selection) restarts the loop,
 * so what it changes is fetched at once.
 */
export function usePolling(tick: () => Promise<void>, every: number | null, key = ''): void {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    if (every === null) {
      return;
    }
    let stopped = false;
    let timer: number | undefined;
    const loop = async () => {
      await latest.current();
      if (!stopped) {
        timer = window.setTimeout(loop, every);
      }
    };
    void loop();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [every, key]);
}
