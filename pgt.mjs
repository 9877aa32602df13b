import { PGlite } from '@electric-sql/pglite';
let t=Date.now();
const db = await PGlite.create(process.argv[2] ?? undefined);
console.log('create', Date.now()-t); t=Date.now();
await db.exec('CREATE TABLE IF NOT EXISTS t (id serial primary key, v int)');
console.log('ddl', Date.now()-t); t=Date.now();
for (let i=0;i<1000;i++) await db.query('INSERT INTO t (v) VALUES ($1)', [i]);
console.log('1000 inserts', Date.now()-t); t=Date.now();
await db.transaction(async tx => { for (let i=0;i<1000;i++) await tx.query('INSERT INTO t (v) VALUES ($1)', [i]); });
console.log('1000 inserts in tx', Date.now()-t);
console.log((await db.query('select count(*) from t')).rows);
if (process.argv[3]==='crash') { setInterval(()=>{}, 1000); let i=0; (async()=>{ for(;;){ await db.query('INSERT INTO t (v) VALUES ($1)', [i++]); } })(); }
else await db.close();
