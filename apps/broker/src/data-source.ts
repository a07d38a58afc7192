import { DataSource } from 'typeorm';
import { dataSourceOptions } from '@constellation/persistence';
import { ENTITIES, MIGRATIONS } from './schema';

// Only for the TypeORM CLI (scripts/typeorm-cli.js), which passes the database in DATABASE_URL.
const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL must be set for the TypeORM CLI');

export default new DataSource(dataSourceOptions(url, ENTITIES, MIGRATIONS));
