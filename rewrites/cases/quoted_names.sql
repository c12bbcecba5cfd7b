CREATE INDEX "Orders_userId_idx" ON "Orders" ("userId");
ALTER TABLE "Orders" ADD FOREIGN KEY ("userId") REFERENCES users (id);
ALTER TABLE "Orders" ADD CHECK (total >= 0);
