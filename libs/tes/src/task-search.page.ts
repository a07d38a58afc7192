import type { TesState } from './tes.types';

// A file of types alone, so the console can take the answer's type from here (erased at build).

/** GET /api/v1/tasks (TaskSearchPageView). */
export interface TaskSearchPage {
  tasks: {
    id: string;
    name: string | null;
    state: TesState;
    creation_time: string;
    submitter_id: string;
    submitter: string;
    site_id: string | null;
    site: string | null;
  }[];
  next_page_token?: string;
}
