import { describe, expect, it } from 'vitest';
import { modelSupportsVision } from './models.js';

describe('modelSupportsVision', () => {
  it.each([
    ['openai', 'gpt-4o', true],
    ['openai', 'gpt-4o-mini-2024-07-18', true],
    ['openai', 'chatgpt-4o-latest', true],
    ['openai', 'gpt-4.1-nano', true],
    ['openai', 'gpt-4.5-preview', true],
    ['openai', 'gpt-4-turbo', true],
    ['openai', 'gpt-5', true],
    ['openai', 'GPT-5-mini', true],
    ['openai', 'o1', true],
    ['openai', 'o1-2024-12-17', true],
    ['openai', 'o3', true],
    ['openai', 'o3-pro', true],
    ['openai', 'o4-mini', true],
    ['openai', 'gpt-3.5-turbo', false],
    ['openai', 'gpt-4', false],
    ['openai', 'gpt-4-0613', false],
    ['openai', 'o1-mini', false],
    ['openai', 'o1-preview', false],
    ['openai', 'o3-mini', false],
    ['anthropic', 'claude-3-opus-20240229', true],
    ['anthropic', 'claude-3-5-sonnet-20241022', true],
    ['anthropic', 'claude-3-7-sonnet-latest', true],
    ['anthropic', 'claude-sonnet-4-5', true],
    ['anthropic', 'claude-opus-4-1-20250805', true],
    ['anthropic', 'claude-haiku-4-5', true],
    ['anthropic', 'claude-opus-5', true],
    ['anthropic', 'claude-2.1', false],
    ['anthropic', 'claude-instant-1.2', false],
    ['anthropic', 'claude-unknown', false],
    ['gemini', 'gemini-1.5-pro', true],
    ['gemini', 'gemini-2.5-flash', true],
    ['gemini', 'gemini-3-pro-preview', true],
    ['google', 'models/gemini-2.0-flash', true],
    ['gemini', 'gemini-1.0-pro', false],
    ['test', 'anything', true],
    ['scripted', 'x', true],
    ['delayed-test', 'x', true],
    ['self_hosted', 'llava', false],
    ['self_hosted', 'gpt-4o', false],
    ['mistral', 'pixtral-large', false],
  ])('%s %s → %s', (provider, model, vision) => {
    expect(modelSupportsVision(provider, model)).toBe(vision);
  });

  it('lets an explicit override win either way', () => {
    expect(modelSupportsVision('self_hosted', 'llava', { vision: true })).toBe(true);
    expect(modelSupportsVision('openai', 'gpt-4o', { vision: false })).toBe(false);
    expect(modelSupportsVision('openai', 'gpt-4', {})).toBe(false);
  });
});
