/**
 * The Approvals panel: the pending requests the Jupyter user may decide (the
 * server knows who that is), with Approve / Reject and an optional comment.
 * A decided request stays shown with the server's answer until the panel is
 * reopened; a refusal (403) is shown on the request and its buttons stay.
 */

import { Button } from '@jupyterlab/ui-components';
import React, { useState } from 'react';
import { errorText } from '../api';
import { json, when } from '../format';
import { usePolling } from '../hooks';
import type { SidebarModel } from '../model';
import type { IApproval } from '../types';

const REFRESH_MS = 3000;

interface IOutcome {
  text: string;
  error: boolean;
}

export function ApprovalsPanel(props: { model: SidebarModel; visible: boolean }): JSX.Element {
  const { model, visible } = props;
  const [user, setUser] = useState<string | null>(null);
  const [pending, setPending] = useState<IApproval[] | null>(null);
  const [decided, setDecided] = useState<IApproval[]>([]);
  const [outcomes, setOutcomes] = useState<Record<number, IOutcome>>({});
  const [error, setError] = useState<string | null>(null);

  usePolling(
    async () => {
      try {
        setUser(user ?? (await model.api.whoami()));
        setPending((await model.api.approvals()).approvals);
        setError(null);
      } catch (failure) {
        setError(errorText(failure));
      }
    },
    visible ? REFRESH_MS : null
  );

  const decide = async (approval: IApproval, approve: boolean, comment: string) => {
    setOutcomes(current => ({ ...current, [approval.id]: { text: approve ? 'Approving…' : 'Rejecting…', error: false } }));
    try {
      const answer = await model.api.decide(approval.id, approve, comment);
      setDecided(current => [answer, ...current.filter(a => a.id !== answer.id)]);
      setPending(current => (current ?? []).filter(a => a.id !== answer.id));
      setOutcomes(current => ({
        ...current,
        [approval.id]: {
          text: `${answer.status} by ${answer.decided_by}${answer.comment ? ` (“${answer.comment}”)` : ''}: run ${answer.run_id} resumes`,
          error: false
        }
      }));
    } catch (failure) {
      setOutcomes(current => ({ ...current, [approval.id]: { text: errorText(failure), error: true } }));
    }
  };

  const shownIds = new Set(decided.map(a => a.id));
  const shown = [...decided, ...(pending ?? []).filter(a => !shownIds.has(a.id))];
  return (
    <div className="jp-jetnb-list" data-jetnb="approvals">
      {user && (
        <div className="jp-jetnb-muted" data-jetnb="approvals-user">
          Requests that <b>{user}</b> may decide
        </div>
      )}
      {error && <div className="jp-jetnb-error">{error}</div>}
      {pending?.length === 0 && decided.length === 0 && <div className="jp-jetnb-muted">Nothing waiting for you.</div>}
      {shown.map(approval => (
        <ApprovalItem
          key={approval.id}
          approval={approval}
          outcome={outcomes[approval.id]}
          onDecide={(approve, comment) => decide(approval, approve, comment)}
        />
      ))}
    </div>
  );
}

function ApprovalItem(props: {
  approval: IApproval;
  outcome: IOutcome | undefined;
  onDecide: (approve: boolean, comment: string) => Promise<void>;
}): JSX.Element {
  const { approval, outcome, onDecide } = props;
  const [comment, setComment] = useState('');
  const open = approval.status === 'pending';
  return (
    <div className="jp-jetnb-card" data-jetnb="approval" data-approval-id={approval.id} data-status={approval.status}>
      <div className="jp-jetnb-title" data-jetnb="approval-message">
        {approval.message}
      </div>
      <div className="jp-jetnb-muted">
        {approval.workflow} / {approval.step} · run {approval.run_id} · request {approval.id}
      </div>
      <div className="jp-jetnb-muted">
        requested <span title={approval.requested_at}>{when(approval.requested_at)}</span> ·{' '}
        {approval.expires_at ? (
          <span title={approval.expires_at}>expires {when(approval.expires_at)}</span>
        ) : (
          'no expiry'
        )}{' '}
        · approvers {approval.approvers.join(', ')}
      </div>
      {approval.details !== null && approval.details !== undefined && (
        <pre className="jp-jetnb-code" data-jetnb="approval-details">
          {json(approval.details, true)}
        </pre>
      )}
      {open && (
        <div className="jp-jetnb-row jp-jetnb-actions">
          <input
            className="jp-mod-styled jp-jetnb-grow"
            data-jetnb="approval-comment"
            placeholder="comment (optional)"
            value={comment}
            onChange={e => setComment(e.target.value)}
          />
          <Button small data-jetnb="approve" onClick={() => onDecide(true, comment)}>
            Approve
          </Button>
          <Button small data-jetnb="reject" onClick={() => onDecide(false, comment)}>
            Reject
          </Button>
        </div>
      )}
      {outcome && (
        <div className={outcome.error ? 'jp-jetnb-error' : 'jp-jetnb-success'} data-jetnb="decision">
          {outcome.text}
        </div>
      )}
    </div>
  );
}
