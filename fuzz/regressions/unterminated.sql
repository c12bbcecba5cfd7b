SELECT 1;
DO $x$ BEGIN /* open
