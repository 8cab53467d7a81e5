export interface ApiCall {
  /** The API key sent as x-api-key; '' sends none. */
  readonly key?: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

/** Calls the API at `base()` over real HTTP, with `defaultKey` unless the call names another; parses JSON bodies. */
export const apiClient =
  (base: () => string, defaultKey: string) =>
  async (method: string, path: string, { key = defaultKey, body, headers = {} }: ApiCall = {}): Promise<ApiAnswer> => {
    const response = await fetch(`${base()}${path}`, {
      method,
      headers: {
        ...(key && { 'x-api-key': key }),
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };

/** The API's one error shape, with this status and code: each of its details a field's path and message. */
export const expectApiError = (response: { status: number; body: unknown }, status: number, code: string) => {
  expect(response.status).toBe(status);
  expect(response.body).toMatchObject({ error: { code, message: expect.any(String), details: expect.any(Array) } });
  const { details } = (response.body as { error: { details: unknown[] } }).error;
  for (const detail of details) expect(detail).toEqual({ path: expect.any(String), message: expect.any(String) });
};
