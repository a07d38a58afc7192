import { FieldError } from '@constellation/common';

/** The one error body of every route, TES included (the TES spec defines none). */
export interface ErrorBody {
  code: string;
  message: string;
  request_id: string;
  errors?: FieldError[];
}
