// Real servers and kernels: starting one takes seconds, a %pip install longer.
jest.setTimeout(120000);
