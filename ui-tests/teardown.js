/** Removes the lab server's root folder the config made for this run (AIEV_UI_KEEP_ROOT=1 keeps it, to look at). */
const { rmSync } = require('fs');

module.exports = () => {
  if (process.env.AIEV_UI_ROOT_MADE === '1' && !process.env.AIEV_UI_KEEP_ROOT) {
    rmSync(process.env.AIEV_UI_ROOT, { recursive: true, force: true });
  }
};
