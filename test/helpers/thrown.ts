import { expect } from "chai";

/**
 * The error `run` throws, asserted to be an instance of `type`; fails the test when `run` returns.
 * One helper for the tests that check a refusal's code, issues or message.
 */
export function thrown<E extends Error>(run: () => unknown, type: abstract new (...args: never[]) => E): E {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(type);
    return error as E;
  }
  throw new Error(`expected a ${type.name}, but nothing was thrown`);
}
