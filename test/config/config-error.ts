// The ConfigError loadConfig throws for `env` (fails the test when it does not throw one), for the config tests.
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/config.js';

export function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected loadConfig to throw');
}
