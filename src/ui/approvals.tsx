/** The approval prompt (the exact code and the tool call, Allow once / Always allow / Reject with a reason) and the
 * per-session approval mode. Props in, callbacks out; the reason being typed is the only state held here. */
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { ApprovalMode, IApprovalDecision, IApprovalRequest } from '../agent/approvals';
import { SourceDiff } from './review';

/** Props of `ApprovalPrompt`. */
export interface IApprovalPromptProps {
  trans: TranslationBundle;
  request: IApprovalRequest;
  onDecide: (decision: IApprovalDecision) => void;
}

/** What the kinds are called in the prompt. */
function kindLabel(kind: IApprovalRequest['kind'], trans: TranslationBundle): string {
  switch (kind) {
    case 'pip':
      return trans.__('package install');
    case 'shell':
      return trans.__('shell command');
    case 'magic':
      return trans.__('IPython magic');
    case 'notebook':
      return trans.__('cell edits');
    default:
      return trans.__('Python code');
  }
}

/** The code waiting for the user, and the three answers. */
export function ApprovalPrompt(props: IApprovalPromptProps): JSX.Element {
  const { trans, request } = props;
  const [reason, setReason] = React.useState('');
  const others = Object.entries(request.arguments).filter(([name]) => name !== 'code');
  const isEdit = request.before !== undefined;
  const title = isEdit
    ? trans.__('The agent wants to change a cell (%1); nothing is applied until you allow it', request.tool)
    : trans.__('The agent wants to run %1 (%2)', request.tool, kindLabel(request.kind, trans));
  return (
    <section className="jp-aiev-Approval" role="region" aria-label={trans.__('Approval')}>
      <div className="jp-aiev-Approval-title">{title}</div>
      {isEdit ? (
        <SourceDiff before={request.before!} after={request.code} label={trans.__('Change to apply')} />
      ) : (
        <pre className="jp-aiev-Approval-code" aria-label={trans.__('Code to run')}>
          {request.code}
        </pre>
      )}
      {others.length > 0 && <div className="jp-aiev-Approval-args">{others.map(([name, value]) => `${name}: ${JSON.stringify(value)}`).join(', ')}</div>}
      <label className="jp-aiev-Approval-reason">
        {trans.__('Reason')}
        <input type="text" value={reason} placeholder={trans.__('optional, told to the agent if you reject')} onChange={event => setReason(event.target.value)} />
      </label>
      <div className="jp-aiev-Approval-buttons">
        <button type="button" className="jp-aiev-Button jp-mod-accept" onClick={() => props.onDecide({ choice: 'allow_once' })}>
          {trans.__('Allow once')}
        </button>
        <button
          type="button"
          className="jp-aiev-Button"
          title={trans.__('Run %1 without asking for the rest of this session', kindLabel(request.kind, trans))}
          onClick={() => props.onDecide({ choice: 'always_allow' })}
        >
          {trans.__('Always allow')}
        </button>
        <button type="button" className="jp-aiev-Button jp-mod-reject" onClick={() => props.onDecide({ choice: 'reject', reason })}>
          {trans.__('Reject')}
        </button>
      </div>
    </section>
  );
}

/** Props of `ApprovalModeSelect`. */
export interface IApprovalModeSelectProps {
  trans: TranslationBundle;
  mode: ApprovalMode;
  onChange: (mode: ApprovalMode) => void;
}

/** This session's approval mode. */
export function ApprovalModeSelect(props: IApprovalModeSelectProps): JSX.Element {
  const { trans } = props;
  const labels: [ApprovalMode, string][] = [
    ['run', trans.__('Run freely')],
    ['ask', trans.__('Ask before every execution')],
    ['ask-risky', trans.__('Ask before installs, shell and magics')]
  ];
  return (
    <label className="jp-aiev-ApprovalMode">
      {trans.__('Approvals')}
      <select value={props.mode} onChange={event => props.onChange(event.target.value as ApprovalMode)}>
        {labels.map(([mode, label]) => (
          <option key={mode} value={mode}>
            {label}
          </option>
        ))}
      </select>
    </label>
  );
}
