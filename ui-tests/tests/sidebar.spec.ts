import { expect, test } from '@jupyterlab/galata';

import { Sidebar } from './aiev';

test.describe('jupyterlab-aiev sidebar', () => {
  test('opens with its controls and the model the server proxies; asking with no notebook open says what to do', async ({ page }) => {
    const sidebar = new Sidebar(page);
    await sidebar.open();
    await expect(sidebar.send).toBeVisible();
    await expect(sidebar.stop).toBeDisabled();
    await expect(sidebar.newSession).toBeVisible();
    await expect(sidebar.root.locator('.jp-aiev-ModelLine')).toHaveText('scripted-model @ 127.0.0.1:8898');
    await sidebar.prompt.fill('Hello');
    await sidebar.prompt.press('Enter');
    await expect(sidebar.root.getByRole('alert')).toHaveText(/^Open a notebook first: the agent writes and runs cells in the notebook you have open\./);
    // The message is kept for when a notebook is open.
    await expect(sidebar.prompt).toHaveValue('Hello');
  });

  test('the palette has the agent commands and Accel+Shift+Y opens the sidebar with the prompt focused', async ({ page }) => {
    const labels = await page.evaluate(() => {
      const commands = (window as any).jupyterapp.commands;
      return ['aiev:open-sidebar', 'aiev:ask', 'aiev:stop', 'aiev:new-session'].map(id => commands.label(id));
    });
    expect(labels).toEqual(['Open the Agent Sidebar', 'Ask the Agent About the Active Notebook', 'Stop the Agent', 'New Agent Session']);
    await page.notebook.createNew('shortcut.ipynb');
    await page.keyboard.press('Control+Shift+Y');
    const sidebar = new Sidebar(page);
    await expect(sidebar.prompt).toBeFocused();
    await expect(sidebar.prompt).toHaveAttribute('placeholder', /^Ask about shortcut\.ipynb/);
  });

  test('a notebook still runs cells on a real kernel with the extension loaded', async ({ page }) => {
    await page.notebook.createNew('smoke.ipynb');
    await page.notebook.setCell(0, 'code', 'print(6 * 7)');
    await page.notebook.run();
    expect(await page.notebook.getCellTextOutput(0)).toEqual(['42\n']);
  });
});

test('the agent settings are in the Settings Editor and the sidebar reads a change at once', async ({ page }) => {
  const sidebar = new Sidebar(page);
  await sidebar.open();
  await expect(sidebar.root.locator('.jp-aiev-ModelLine')).toHaveText('scripted-model @ 127.0.0.1:8898');
  await page.evaluate(() => (window as any).jupyterapp.commands.execute('settingeditor:open', { query: 'AIEV agent' }));
  const form = page.locator('#jp-main-dock-panel');
  for (const label of ['Model', 'Tool mode', 'Vision', 'Step cap', 'Cell timeout (seconds)', 'Output budget (characters)']) {
    await expect(form.getByRole('heading', { name: label, exact: true }).or(form.getByRole('checkbox', { name: label }))).toBeVisible();
  }
  // (JupyterLab's settings form titles its fields with headings, not labels.)
  await form.locator('input[id$="_model"]').fill('another-model');
  await expect(sidebar.root.locator('.jp-aiev-ModelLine')).toHaveText('another-model @ 127.0.0.1:8898');
});
