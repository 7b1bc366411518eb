import { describe, expect, it } from 'vitest';
import { resolveToken, takeTokenFromFragment, wsUrl } from './token';

describe('takeTokenFromFragment', () => {
  it('reads the ready URL fragment', () => {
    expect(takeTokenFromFragment('#token=abc123')).toEqual({ token: 'abc123', rest: '' });
  });
  it('keeps other fragment parameters and routes', () => {
    expect(takeTokenFromFragment('#token=a%2Bb&x=1')).toEqual({ token: 'a+b', rest: '#x=1' });
    expect(takeTokenFromFragment('#/topics/t1?token=zz')).toEqual({ token: 'zz', rest: '#/topics/t1' });
    expect(takeTokenFromFragment('#/topics?a=1&token=zz')).toEqual({ token: 'zz', rest: '#/topics?a=1' });
  });
  it('finds nothing in plain routes', () => {
    expect(takeTokenFromFragment('#/cluster')).toEqual({ token: null, rest: '#/cluster' });
    expect(takeTokenFromFragment('')).toEqual({ token: null, rest: '' });
    expect(takeTokenFromFragment('#token=')).toEqual({ token: null, rest: '#token=' });
  });
});

describe('resolveToken', () => {
  it('prefers the fragment, then the injected token, then the session', () => {
    expect(resolveToken({ hash: '#token=f', injected: 'i', stored: 's' })).toEqual({ token: 'f', source: 'fragment', newHash: '' });
    expect(resolveToken({ hash: '#/x', injected: 'i', stored: 's' })).toEqual({ token: 'i', source: 'injected', newHash: null });
    expect(resolveToken({ hash: '', injected: undefined, stored: 's' })).toEqual({ token: 's', source: 'session', newHash: null });
    expect(resolveToken({ hash: '', injected: 42, stored: null })).toEqual({ token: null, source: 'none', newHash: null });
  });
});

describe('wsUrl', () => {
  it('maps http to ws and puts the token in the query', () => {
    expect(wsUrl('http://127.0.0.1:8080/#/topics', 'a b')).toBe('ws://127.0.0.1:8080/api/ws?token=a+b');
    expect(wsUrl('https://h/x/', null)).toBe('wss://h/api/ws');
  });
});
