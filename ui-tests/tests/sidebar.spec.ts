import { expect, test } from '@jupyterlab/galata';

test.describe('jupyterlab-aiev sidebar', () => {
  test('activates and shows the bridge version from the server', async ({ page }) => {
    await page.click('.jp-SideBar.jp-mod-right [data-id="jp-aiev-sidebar"]');
    const status = page.locator('#jp-aiev-sidebar .jp-aiev-BridgeStatus');
    await expect(status).toHaveAttribute('data-state', 'ok');
    await expect(status).toHaveText(/^Bridge 0\.1\.0 \(Python 3\.\d+\.\d+\)$/);
  });

  test('a notebook still runs cells on a real kernel with the extension loaded', async ({ page }) => {
    await page.notebook.createNew('smoke.ipynb');
    await page.notebook.setCell(0, 'code', 'print(6 * 7)');
    await page.notebook.run();
    expect(await page.notebook.getCellTextOutput(0)).toEqual(['42\n']);
  });
});
