/** TES 1.1 wire types (../shared/reference/tes-1.1.0.openapi.yaml). Only the spec's fields, nothing more. */
export const TES_STATES = [
  'UNKNOWN',
  'QUEUED',
  'INITIALIZING',
  'RUNNING',
  'PAUSED',
  'COMPLETE',
  'EXECUTOR_ERROR',
  'SYSTEM_ERROR',
  'CANCELED',
  'PREEMPTED',
  'CANCELING',
] as const;
export type TesState = (typeof TES_STATES)[number];

export const TERMINAL_STATES: readonly TesState[] = [
  'COMPLETE',
  'EXECUTOR_ERROR',
  'SYSTEM_ERROR',
  'CANCELED',
  'PREEMPTED',
];

export const TES_VIEWS = ['MINIMAL', 'BASIC', 'FULL'] as const;
export type TesView = (typeof TES_VIEWS)[number];

export type TesFileType = 'FILE' | 'DIRECTORY';

export interface TesInput {
  name?: string;
  description?: string;
  url?: string;
  path: string;
  type: TesFileType;
  content?: string;
  streamable?: boolean;
}

export interface TesOutput {
  name?: string;
  description?: string;
  url: string;
  path: string;
  path_prefix?: string;
  type: TesFileType;
}

export interface TesResources {
  cpu_cores?: number;
  preemptible?: boolean;
  ram_gb?: number;
  disk_gb?: number;
  zones?: string[];
  backend_parameters?: Record<string, string>;
  backend_parameters_strict?: boolean;
}

export interface TesExecutor {
  image: string;
  command: string[];
  workdir?: string;
  stdin?: string;
  stdout?: string;
  stderr?: string;
  env?: Record<string, string>;
  ignore_error?: boolean;
}

export interface TesExecutorLog {
  start_time?: string;
  end_time?: string;
  stdout?: string;
  stderr?: string;
  exit_code: number;
}

export interface TesOutputFileLog {
  url: string;
  path: string;
  size_bytes: string;
}

export interface TesTaskLog {
  logs: TesExecutorLog[];
  metadata?: Record<string, string>;
  start_time?: string;
  end_time?: string;
  outputs: TesOutputFileLog[];
  system_logs?: string[];
}

/** What the client asked for, validated and normalised: the stored `document`. */
export interface TaskDocument {
  name?: string;
  description?: string;
  inputs: TesInput[];
  outputs: TesOutput[];
  resources?: TesResources;
  executors: TesExecutor[];
  volumes: string[];
  tags: Record<string, string>;
}

export interface TesTask extends Partial<Omit<TaskDocument, 'tags' | 'volumes' | 'inputs' | 'outputs'>> {
  id: string;
  state: TesState;
  inputs?: TesInput[];
  outputs?: TesOutput[];
  volumes?: string[];
  tags?: Record<string, string>;
  logs?: TesTaskLog[];
  creation_time?: string;
}
