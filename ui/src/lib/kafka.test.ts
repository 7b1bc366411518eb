import { describe, expect, it } from 'vitest';
import { COMMON_CONFIGS, configValueError, errorField, topicNameError } from './kafka';
import { groupHref, parseRoute, topicHref } from './router.svelte';
import { fmtBytes, fmtNum } from './format';

describe('topic names', () => {
  it('accepts legal names and explains illegal ones', () => {
    expect(topicNameError('orders.v1_x-y')).toBeNull();
    expect(topicNameError('')).toMatch(/needs a name/);
    expect(topicNameError('..')).toMatch(/cannot be named/);
    expect(topicNameError('a b')).toMatch(/letters, digits/);
    expect(topicNameError('x'.repeat(250))).toMatch(/249/);
  });
});

describe('config values', () => {
  const spec = (n: string) => COMMON_CONFIGS.find((c) => c.name === n);
  it('checks numbers and enums before the broker does', () => {
    expect(configValueError(spec('retention.ms'), '-1')).toBeNull();
    expect(configValueError(spec('retention.ms'), 'abc')).toMatch(/whole number/);
    expect(configValueError(spec('cleanup.policy'), 'compact,delete')).toBeNull();
    expect(configValueError(spec('cleanup.policy'), 'archive')).toMatch(/One of/);
    expect(configValueError(spec('retention.ms'), '')).toBeNull();
  });
  it('lists the common configs with Kafka defaults', () => {
    expect(Object.fromEntries(COMMON_CONFIGS.map((c) => [c.name, c.default]))).toMatchObject({
      'cleanup.policy': 'delete',
      'retention.ms': '604800000',
      'retention.bytes': '-1',
      'segment.bytes': '1073741824',
      'min.insync.replicas': '1',
      'max.message.bytes': '1048588',
      'compression.type': 'producer',
      'message.timestamp.type': 'CreateTime',
    });
  });
});

describe('errorField', () => {
  const names = COMMON_CONFIGS.map((c) => c.name);
  it('puts broker errors next to the field they are about', () => {
    expect(errorField('Topic x already exists', 'TOPIC_ALREADY_EXISTS', names)).toBe('name');
    expect(errorField('bad', 'INVALID_REPLICATION_FACTOR', names)).toBe('replication_factor');
    expect(errorField('Invalid value abc for configuration retention.ms: Not a number', 'INVALID_CONFIG', names)).toBe('retention.ms');
    expect(errorField('Invalid value for retention.bytes', null, names)).toBe('retention.bytes');
    expect(errorField('something else', null, names)).toBeNull();
    expect(errorField('CreateTopics t refused: INVALID_CONFIG', 'INVALID_CONFIG', names, ['segment.bytes'])).toBe('segment.bytes');
    expect(errorField('CreateTopics t refused: INVALID_CONFIG', 'INVALID_CONFIG', names, ['a', 'b'])).toBeNull();
  });
});

describe('routes', () => {
  it('parses hash routes', () => {
    expect(parseRoute('')).toMatchObject({ page: 'cluster' });
    expect(parseRoute('#/topics')).toMatchObject({ page: 'topics' });
    expect(parseRoute('#/transactions')).toMatchObject({ page: 'transactions' });
    expect(parseRoute('#/topics/a.b')).toEqual({ page: 'topic', topic: 'a.b', tab: 'partitions' });
    expect(parseRoute('#/topics/a%2Fb/messages')).toEqual({ page: 'topic', topic: 'a/b', tab: 'messages' });
    expect(parseRoute('#/profiles')).toMatchObject({ page: 'profiles' });
    expect(parseRoute('#/nope')).toMatchObject({ page: 'notfound' });
    expect(topicHref('a b', 'produce')).toBe('#/topics/a%20b/produce');
  });
  it('parses consumer group routes, ids with slashes and spaces included', () => {
    expect(parseRoute('#/groups')).toMatchObject({ page: 'groups' });
    expect(parseRoute(groupHref('billing/eu west'))).toMatchObject({ page: 'group', group: 'billing/eu west' });
    expect(groupHref()).toBe('#/groups');
    expect(parseRoute('#/groups/a/b')).toMatchObject({ page: 'notfound' });
  });
});

describe('format', () => {
  it('formats sizes and numbers', () => {
    expect(fmtBytes(512)).toBe('512 B');
    expect(fmtBytes(1536)).toBe('1.5 KiB');
    expect(fmtBytes(null)).toBe('—');
    expect(fmtNum(100000)).toBe('100,000');
  });
});
