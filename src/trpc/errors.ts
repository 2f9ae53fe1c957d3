import type { TRPCError } from '@trpc/server';
import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import type { ErrorBody, ErrorCode } from '../../contracts/common.js';
import { AppError, errorBody, invalidInput } from '../errors.js';

/** The one mapping between AppError codes and tRPC codes (both directions). */
const APP_TO_TRPC: Record<ErrorCode, TRPC_ERROR_CODE_KEY> = {
  bad_request: 'BAD_REQUEST',
  unauthorized: 'UNAUTHORIZED',
  forbidden: 'FORBIDDEN',
  not_found: 'NOT_FOUND',
  request_timeout: 'TIMEOUT',
  conflict: 'CONFLICT',
  payload_too_large: 'PAYLOAD_TOO_LARGE',
  unsupported_media_type: 'UNSUPPORTED_MEDIA_TYPE',
  rate_limited: 'TOO_MANY_REQUESTS',
  budget_exceeded: 'TOO_MANY_REQUESTS',
  cancelled: 'CONFLICT',
  thread_busy: 'CONFLICT',
  timeout: 'GATEWAY_TIMEOUT',
  upstream_error: 'BAD_GATEWAY',
  context_overflow: 'BAD_REQUEST',
  unavailable: 'SERVICE_UNAVAILABLE',
  internal: 'INTERNAL_SERVER_ERROR',
};

/** Errors tRPC raises itself (bad JSON in `input`, unknown procedure, wrong method, …). */
const TRPC_TO_APP: Partial<Record<TRPC_ERROR_CODE_KEY, ErrorCode>> = {
  PARSE_ERROR: 'bad_request',
  BAD_REQUEST: 'bad_request',
  METHOD_NOT_SUPPORTED: 'bad_request',
  UNPROCESSABLE_CONTENT: 'bad_request',
  UNAUTHORIZED: 'unauthorized',
  FORBIDDEN: 'forbidden',
  NOT_FOUND: 'not_found',
  CONFLICT: 'conflict',
  PAYLOAD_TOO_LARGE: 'payload_too_large',
  UNSUPPORTED_MEDIA_TYPE: 'unsupported_media_type',
  TOO_MANY_REQUESTS: 'rate_limited',
  TIMEOUT: 'timeout',
  GATEWAY_TIMEOUT: 'timeout',
  BAD_GATEWAY: 'upstream_error',
  SERVICE_UNAVAILABLE: 'unavailable',
};

/** Whatever a procedure (or tRPC) threw, as the AppError it stands for. */
export function appErrorFromTrpc(error: TRPCError): AppError {
  const cause = error.cause as { issues?: unknown } | undefined;
  if (cause instanceof AppError) return cause;
  // Input parsing failed (output parsing failures are INTERNAL_SERVER_ERROR and stay internal).
  if (error.code === 'BAD_REQUEST' && Array.isArray(cause?.issues)) return invalidInput(cause.issues, 'input');
  const code = TRPC_TO_APP[error.code];
  if (!code) return new AppError('internal', 'internal server error', { cause: error.cause ?? error });
  return new AppError(code, error.message, { cause: error });
}

/**
 * tRPC's error shape. Its client requires the JSON-RPC envelope (`message`, numeric
 * `code`), so the shared error body travels as `data` (plus the HTTP status tRPC reads).
 */
export interface TrpcErrorShape {
  message: string;
  code: number;
  data: ErrorBody & { httpStatus: number; path?: string; stack?: string };
}

export function formatTrpcError(error: TRPCError, path: string | undefined, production: boolean): TrpcErrorShape {
  const app = appErrorFromTrpc(error);
  return {
    message: app.message,
    code: TRPC_ERROR_CODES_BY_KEY[APP_TO_TRPC[app.code]],
    data: { ...errorBody(app, { exposeStack: !production }), httpStatus: app.status, ...(path ? { path } : {}) },
  };
}
