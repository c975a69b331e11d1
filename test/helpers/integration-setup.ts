// Real servers and kernels: starting one takes seconds, a %pip install longer.
jest.setTimeout(120000);

// @jupyterlab/services logs protocol chatter with console.debug (as the CLI, keep it only with AIEV_DEBUG=1).
if (!process.env.AIEV_DEBUG) {
  console.debug = () => undefined;
}
