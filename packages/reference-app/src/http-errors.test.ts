import { MobKitError } from '@mobkit/core';
import { describe, expect, it } from 'vitest';
import { RouteError, type RouteErrorName, httpErrorFor, snakeCode } from './http-errors.js';

describe('httpErrorFor', () => {
  it.each([
    ['not_found', 404],
    ['shutting_down', 503],
    ['too_many_streams', 503],
    ['invalid_member_id', 400],
    ['invalid_message', 400],
    ['unsupported', 422],
  ] as Array<[RouteErrorName, number]>)('RouteError %s answers %i under its wire name', (name, status) => {
    const withDetail = new RouteError(name, 'what to do');
    expect(httpErrorFor(withDetail)).toEqual({ status, error: name, message: 'what to do' });
    expect(httpErrorFor(new RouteError(name))).toEqual({ status, error: name });
    // Every route refusal but `unsupported` (no 422 code in the table yet) takes its code's status.
    if (name !== 'unsupported') expect(withDetail.httpStatus).toBe(new MobKitError(withDetail.code, 'x').httpStatus);
  });

  it('a MobKitError answers with its code’s status and snake_case code, a message only below 500', () => {
    expect(httpErrorFor(new MobKitError('MemberNotFound', 'no member "x"'))).toEqual({
      status: 404,
      error: 'member_not_found',
      message: 'no member "x"',
    });
    expect(httpErrorFor(new MobKitError('RuntimeShuttingDown', 'secret detail'))).toEqual({
      status: 503,
      error: 'runtime_shutting_down',
    });
  });

  it('body-parser failures keep the status it set; anything else is 500 internal with no detail', () => {
    const parserError = (type: string, status: number) => Object.assign(new Error('parser'), { type, status });
    expect(httpErrorFor(parserError('entity.too.large', 413))).toEqual({
      status: 413,
      error: 'payload_too_large',
      message: 'the request body is larger than this route accepts',
    });
    expect(httpErrorFor(parserError('encoding.unsupported', 415))).toEqual({
      status: 415,
      error: 'unsupported_encoding',
    });
    expect(httpErrorFor(parserError('request.aborted', 400))).toEqual({ status: 400, error: 'request_aborted' });
    expect(httpErrorFor(parserError('entity.verify.failed', 403))).toEqual({ status: 403, error: 'bad_request' });
    expect(httpErrorFor(parserError('stream.not.readable', 500))).toEqual({ status: 500, error: 'internal' });
    expect(httpErrorFor(new Error('secret'))).toEqual({ status: 500, error: 'internal' });
    expect(httpErrorFor(Object.assign(new Error('redirect'), { status: 302 }))).toEqual({
      status: 500,
      error: 'internal',
    });
    expect(httpErrorFor(undefined)).toEqual({ status: 500, error: 'internal' });
  });

  it('snakeCode', () => {
    expect(['MemberNotFound', 'InvalidJson', 'RpcMethodNotFound', 'Hs256NotAllowed'].map(snakeCode)).toEqual([
      'member_not_found',
      'invalid_json',
      'rpc_method_not_found',
      'hs256_not_allowed',
    ]);
  });
});
