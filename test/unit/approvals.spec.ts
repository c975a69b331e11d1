/** A continued session's approval mode: the one last chosen in it, over the settings'. */
import { lastApprovalMode } from '../../src/agent/approvals';
import type { IStep } from '../../src/trace/types';
import { SessionModel } from '../../src/ui/session';
import { trans } from '../helpers/sidebarFixtures';

const mode = (value: string): IStep => ({ type: 'event', event: 'approval_mode', time: '2026-01-01T00:00:00Z', detail: { mode: value } });
const user: IStep = { type: 'user', text: 'hi', time: '2026-01-01T00:00:00Z' };

describe('approval mode of a continued session', () => {
  it('is the last one chosen in the session, or none', () => {
    expect(lastApprovalMode([user])).toBeNull();
    expect(lastApprovalMode([mode('ask'), user, mode('ask-risky')])).toBe('ask-risky');
  });

  it('wins over the settings in the sidebar, which keep their say for a session that never chose', () => {
    const start = () => Promise.reject(new Error('not started in this test'));
    const continued = SessionModel.live({ notebookPath: 'a.ipynb', start, trans, maxSteps: 5, steps: [user, mode('ask')], approvalMode: 'run' });
    expect(continued.approvalMode).toBe('ask');
    const fresh = SessionModel.live({ notebookPath: 'a.ipynb', start, trans, maxSteps: 5, steps: [user], approvalMode: 'ask-risky' });
    expect(fresh.approvalMode).toBe('ask-risky');
  });
});
